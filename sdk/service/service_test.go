package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"testing"

	"github.com/plexushq/plexus/sdk/service"
)

// GetCustomer is a service with one handler for every verb.
type GetCustomer struct{}

func (GetCustomer) Name() string { return "crm.get-customer" }

func (GetCustomer) Handle(s *service.Context) error {
	id := s.Request.Input.String("cust_id")
	if id == "" {
		return service.ElementMissing("cust_id")
	}
	s.Response.Payload = map[string]any{"id": id, "name": "Jane Doe"}
	return nil
}

// testPlatform is a Platform for unit tests of Go services.
type testPlatform struct{}

func (testPlatform) Invoke(c *service.Context, name string, payload any, opts service.InvokeOptions) (any, error) {
	return map[string]any{"invoked": name}, nil
}
func (testPlatform) InvokeAsync(c *service.Context, name string, payload any, opts service.InvokeOptions) (string, error) {
	return "0ee199609d5020d7cb8ca924", nil
}
func (testPlatform) Logger(c *service.Context) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).With("cid", c.CID)
}
func (testPlatform) Resource(c *service.Context, kind, name string) (any, error) {
	return nil, errors.New("no resources in tests")
}

// A Go service can be unit-tested without a server, with a Platform of the
// test's own.
func ExampleNewContext() {
	c := service.NewContext(context.Background(), testPlatform{})
	c.CID = "0ee199609d5020d7cb8ca924"
	c.Request.Input = service.Input{"cust_id": "42"}
	if err := (GetCustomer{}).Handle(c); err != nil {
		fmt.Println(err)
	}
	fmt.Println(c.Response.Payload)

	c.Request.Input = service.Input{}
	err := GetCustomer{}.Handle(c)
	fmt.Println(service.StatusOf(err), err)
	// Output:
	// map[id:42 name:Jane Doe]
	// 400 400 Element missing: cust_id
}

func ExampleContext_Invoke() {
	c := service.NewContext(context.Background(), testPlatform{})
	out, err := c.Invoke("crm.get-customer", map[string]any{"cust_id": "42"})
	fmt.Println(out, err)
	// Output: map[invoked:crm.get-customer] <nil>
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		err    *service.Error
		status int
		msg    string
	}{
		{service.BadRequest("bad %d", 1), 400, "bad 1"},
		{service.Unauthorized(""), 401, "Unauthorized"},
		{service.Forbidden("no"), 403, "no"},
		{service.NotFound("gone"), 404, "gone"},
		{service.Conflict("dup"), 409, "dup"},
		{service.TooManyRequests("slow"), 429, "slow"},
		{service.ServiceUnavailable("down"), 503, "down"},
		{service.NewError(418, "%s", "teapot with 100% certainty"), 418, "teapot with 100% certainty"},
	} {
		if c.err.Status != c.status || c.err.Message != c.msg {
			t.Errorf("%v: status %d message %q", c.err, c.err.Status, c.err.Message)
		}
	}
	wrapped := fmt.Errorf("looking up: %w", service.NotFound("x"))
	if service.StatusOf(wrapped) != 404 || service.StatusOf(errors.New("x")) != 500 {
		t.Error("StatusOf does not see through wrapping")
	}
	e := service.Unauthorized("no").WithHeader("WWW-Authenticate", "Basic")
	if e.Header.Get("WWW-Authenticate") != "Basic" {
		t.Error("WithHeader")
	}
}

func TestGetFormData(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("a", "1")
	mw.WriteField("a", "2")
	fw, _ := mw.CreateFormFile("f", "x.txt")
	fw.Write([]byte("data"))
	mw.Close()
	h := service.HTTP{Headers: http.Header{"Content-Type": {mw.FormDataContentType()}}}
	h.SetBody(buf.Bytes())
	form, err := h.GetFormData()
	if err != nil || len(form.Values["a"]) != 2 || string(form.Files["f"][0].Data) != "data" || form.Files["f"][0].Filename != "x.txt" {
		t.Fatalf("multipart: %+v %v", form, err)
	}
	h = service.HTTP{Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	h.SetBody([]byte("x=1&y=%20"))
	if form, err := h.GetFormData(); err != nil || form.Values.Get("y") != " " {
		t.Fatalf("urlencoded: %+v %v", form, err)
	}
	h = service.HTTP{Headers: http.Header{"Content-Type": {"application/json"}}}
	if _, err := h.GetFormData(); !errors.Is(err, service.ErrNotForm) {
		t.Errorf("json: %v", err)
	}
	h = service.HTTP{Headers: http.Header{"Content-Type": {"multipart/form-data"}}}
	if _, err := h.GetFormData(); err == nil {
		t.Error("multipart without boundary accepted")
	}
}

func FuzzGetFormData(f *testing.F) {
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"))
	f.Add("application/x-www-form-urlencoded", []byte("a=1&b=%zz"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		h := service.HTTP{Headers: http.Header{"Content-Type": {ctype}}}
		h.SetBody(body)
		h.GetFormData()
	})
}

func TestInput(t *testing.T) {
	in := service.Input{"s": "x", "n": 3, "nil": nil}
	if in.String("s") != "x" || in.String("n") != "3" || in.String("nil") != "" || in.String("missing") != "" {
		t.Error("Input.String")
	}
	if !in.Has("nil") || in.Has("missing") {
		t.Error("Input.Has")
	}
}

// FuzzParseForm checks that any body and content type parse as a form or
// fail with an error, and that a URL-encoded form keeps its fields.
func FuzzParseForm(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "Jane")
	fw, _ := mw.CreateFormFile("doc", "a.txt")
	fw.Write([]byte("file body"))
	mw.Close()
	f.Add(mw.FormDataContentType(), buf.String())
	f.Add("application/x-www-form-urlencoded", "a=1&b=2&b=3")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "a=%zz")
	f.Add("multipart/form-data", "--x\r\n")
	f.Add("text/plain", "a=1")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		form, err := service.ParseForm(contentType, []byte(body))
		if err != nil {
			return
		}
		if form.Values == nil || form.Files == nil {
			t.Fatalf("%q %q: a form without its maps", contentType, body)
		}
		if !service.IsForm(contentType) {
			t.Fatalf("%q parsed as a form", contentType)
		}
	})
}
