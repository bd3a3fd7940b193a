package sio_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// profile declares one element of every type, in Go; profile.star does
// the same in Starlark. Both return their input, so the two languages can
// be compared answer for answer.
type profile struct{}

func (profile) Name() string { return "go.profile" }

func (profile) SimpleIO() service.SimpleIO {
	optional := []service.Elem{
		service.Text("name"), service.Float("score"), service.Decimal("balance"), service.Date("since"),
		service.DateTime("seen_at"), service.UUID("ref"), service.List("tags"), service.Dict("meta"),
		service.AsIs("extra"), service.Int("page_size", service.Default(20)),
	}
	return service.SimpleIO{
		InputRequired:  service.Names("cust_id", "is_active"),
		InputOptional:  append(optional, service.Secret("password")),
		OutputRequired: service.Names("cust_id", "is_active"),
		OutputOptional: optional,
		SkipEmptyKeys:  true,
	}
}

func (profile) Handle(s *service.Context) error {
	if s.Request.Input.String("password") != "" {
		s.Logger().Info("got a password", "password", s.Request.Input["password"])
	}
	out := map[string]any{"undeclared": 1}
	for k, v := range s.Request.Input {
		out[k] = v
	}
	s.Response.Payload = out
	return nil
}

const profileStar = `"""Returns its input."""
name = "star.profile"
OPTIONAL = [Text("name"), Float("score"), Decimal("balance"), Date("since"), DateTime("seen_at"),
    UUID("ref"), List("tags"), Dict("meta"), AsIs("extra"), Int("page_size", default = 20)]
input_required = ["cust_id", "is_active"]
input_optional = OPTIONAL + [Secret("password")]
output_required = ["cust_id", "is_active"]
output_optional = OPTIONAL
skip_empty_keys = True

def handle(self):
    out = {"undeclared": 1}
    for k, v in self.request.input.items():
        out[k] = v
    self.response.payload = out
`

func startBoth(t *testing.T, extra ...any) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Services: append([]any{profile{}}, extra...), Settings: "log:\n  level: debug\n"})
	deployStar(t, s, "profile.star", profileStar)
	s.Channel("go", "go.profile", "", "/go/{cust_id}", nil)
	s.Channel("star", "star.profile", "", "/star/{cust_id}", nil)
	return s
}

func deployStar(t *testing.T, s *servertest.Server, file, src string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: file, Source: src}})
	r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body))
	if r.StatusCode != 200 && !strings.HasPrefix(file, "bad") {
		t.Fatalf("deploy %s: %d %s", file, r.StatusCode, r.Body)
	}
	return r.StatusCode, string(r.Body)
}

// TestGoAndStarlarkAgree sends the same requests to the Go and the
// Starlark service and expects the same answers.
func TestGoAndStarlarkAgree(t *testing.T) {
	s := startBoth(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/42?is_active=yes", "", 200, `{"cust_id":42,"is_active":true,"page_size":20,"score":0,"balance":0}`},
		{"POST", "/42?is_active=0&tags=a&tags=b&since=2024-02-29", `{"is_active": true, "name": "Jane", "score": "4.5", "balance": 12.50,
			"seen_at": "2024-05-01 10:00:00", "ref": "0190A8F87C2E7B619E365F3C1B2A4D5E", "meta": {"a": 1}, "extra": [1, "x"], "page_size": "50"}`, 200,
			`{"cust_id":42,"is_active":false,"name":"Jane","score":4.5,"balance":12.50,"since":"2024-02-29","seen_at":"2024-05-01T10:00:00Z",
			"ref":"0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e","tags":["a","b"],"meta":{"a":1},"extra":[1,"x"],"page_size":50}`},
		{"POST", "/42", `{"cust_id": 7, "is_active": 1}`, 200, `{"cust_id":42,"is_active":true,"page_size":20,"score":0,"balance":0}`},
		{"GET", "/42", "", 400, `{"result":"Error","details":"Element missing: is_active"}`},
		{"GET", "/x?is_active=1", "", 400, `{"result":"Error","details":"Invalid value for cust_id: expected an integer, got \"x\""}`},
		{"GET", "/1?is_active=perhaps", "", 400, `{"result":"Error","details":"Invalid value for is_active: expected a boolean (true, false, 1, 0, yes, no, on, off), got \"perhaps\""}`},
		{"GET", "/1?is_active=1&since=2023-02-29", "", 400, `{"result":"Error","details":"Invalid value for since: expected a date (YYYY-MM-DD), got \"2023-02-29\""}`},
		{"GET", "/1?is_active=1&ref=nope", "", 400, `{"result":"Error","details":"Invalid value for ref: expected a UUID, got \"nope\""}`},
		{"GET", "/1?is_active=1&meta=x", "", 400, `{"result":"Error","details":"Invalid value for meta: expected an object, got \"x\""}`},
		{"POST", "/1?is_active=1", `{"score": "high"}`, 400, `{"result":"Error","details":"Invalid value for score: expected a number, got \"high\""}`},
		{"POST", "/1?is_active=1", `{"balance": "1.2.3"}`, 400, `{"result":"Error","details":"Invalid value for balance: expected a decimal number, got \"1.2.3\""}`},
		{"POST", "/1?is_active=1", `{"password": {"a": 1}}`, 400, `{"result":"Error","details":"Invalid value for password: expected a string"}`},
	} {
		var answers []string
		for _, lang := range []string{"/go", "/star"} {
			r := s.Call(c.method, lang+c.path, c.body, nil)
			if r.StatusCode != c.status {
				t.Errorf("%s %s%s: %d %s", c.method, lang, c.path, r.StatusCode, r.Body)
				continue
			}
			if !sameJSON(t, r.Body, c.want) {
				t.Errorf("%s %s%s:\n got %s\nwant %s", c.method, lang, c.path, r.Body, c.want)
			}
			answers = append(answers, normal(t, r.Body))
		}
		if len(answers) == 2 && answers[0] != answers[1] {
			t.Errorf("%s %s: Go and Starlark differ:\n%s\n%s", c.method, c.path, answers[0], answers[1])
		}
	}
	// Form fields are strings too.
	s.Channel("form", "go.profile", "", "/form/{cust_id}", map[string]any{"data_format": "form"})
	r := s.Call("POST", "/form/3", "is_active=on&tags=a&tags=b&score=1.5&since=2024-01-02", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if !sameJSON(t, r.Body, `{"cust_id":3,"is_active":true,"tags":["a","b"],"score":1.5,"since":"2024-01-02","page_size":20,"balance":0}`) {
		t.Errorf("form: %d %s", r.StatusCode, r.Body)
	}

	// Undeclared output is dropped with a debug line; secrets never reach
	// the log.
	s.Log.WaitFor(t, "dropping undeclared output elements", "service=go.profile", "undeclared")
	s.Log.WaitFor(t, "dropping undeclared output elements", "service=star.profile", "undeclared")
	s.Call("POST", "/go/1?is_active=1", `{"password": "hunter2"}`, nil)
	s.Log.WaitFor(t, "got a password", "password=******")
	if strings.Contains(s.Log.String(), "hunter2") {
		t.Error("a secret reached the log")
	}
}

// normal re-encodes a JSON answer without its cid.
func normal(t *testing.T, body []byte) string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	delete(m, "cid")
	out, _ := json.Marshal(m)
	return string(out)
}

func sameJSON(t *testing.T, got []byte, want string) bool {
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	wb, _ := json.Marshal(w)
	return normal(t, got) == string(wb)
}

// TestInvokeChannels checks that invoke runs the same stage: Starlark
// invoking Go and Go invoking Starlark, with conversion and errors.
func TestInvokeChannels(t *testing.T) {
	type clientReq struct {
		ClientID int `json:"client_id"`
	}
	typed := service.Typed("go.typed", "", func(c *service.Context, r clientReq) (map[string]any, error) {
		return map[string]any{"client_id": r.ClientID, "channel": c.Channel.Type}, nil
	})
	structCaller := service.Func("go.struct-caller", "", func(c *service.Context) error {
		out, err := c.Invoke("go.typed", clientReq{ClientID: 77})
		c.Response.Payload = out
		return err
	})
	caller := service.Func("go.caller", "", func(c *service.Context) error {
		out, err := c.Invoke("star.profile", map[string]any{"cust_id": "5", "is_active": "on", "x": 1})
		if err != nil {
			return err
		}
		c.Response.Payload = map[string]any{"got": out}
		return nil
	})
	s := startBoth(t, caller, typed, structCaller)
	deployStar(t, s, "star_caller.star", `
def handle(self):
    self.response.payload = {"got": self.invoke("go.profile", cust_id = "6", is_active = "no")}
`)
	deployStar(t, s, "star_bad_caller.star", `
def handle(self):
    self.response.payload = self.invoke("go.profile", cust_id = "x")
`)
	s.Channel("caller", "go.caller", "", "/caller", nil)
	s.Channel("star-caller", "star-caller", "", "/star-caller", nil)
	s.Channel("star-bad-caller", "star-bad-caller", "", "/star-bad-caller", nil)
	r := s.Call("GET", "/caller", "", nil)
	if !sameJSON(t, r.Body, `{"got":{"cust_id":5,"is_active":true,"page_size":20,"score":0,"balance":0}}`) {
		t.Errorf("Go invokes Starlark: %s", r.Body)
	}
	r = s.Call("GET", "/star-caller", "", nil)
	if !sameJSON(t, r.Body, `{"got":{"cust_id":6,"is_active":false,"page_size":20,"score":0,"balance":0}}`) {
		t.Errorf("Starlark invokes Go: %s", r.Body)
	}
	r = s.Call("GET", "/star-bad-caller", "", nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `Invalid value for cust_id: expected an integer, got \"x\"`) {
		t.Errorf("the callee's 400 reaches the caller: %d %s", r.StatusCode, r.Body)
	}
	// A Go caller may pass the callee's request struct.
	s.Channel("struct-caller", "go.struct-caller", "", "/struct-caller", nil)
	r = s.Call("GET", "/struct-caller", "", nil)
	if r.StatusCode != 200 || !sameJSON(t, r.Body, `{"client_id":77,"channel":"invoke"}`) {
		t.Errorf("struct payload: %d %s", r.StatusCode, r.Body)
	}
	// The admin API's invoke call, and plexus invoke with it.
	r = s.AdminCall("POST", admin.Prefix+"/services/go.profile/invoke", `{"cust_id": 9, "is_active": "t"}`)
	if !sameJSON(t, r.Body, `{"cust_id":9,"is_active":true,"page_size":20,"score":0,"balance":0}`) {
		t.Errorf("admin invoke: %s", r.Body)
	}
}

// TestOutputErrors: a missing required output element answers 500 and
// the log names it; error responses and text pass as they are;
// response_elem wraps the output.
func TestOutputErrors(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Typed("go.typed-missing", "", func(c *service.Context, in struct {
			ID int `json:"id"`
		}) (map[string]any, error) {
			return map[string]any{"id": in.ID}, nil
		}),
	}})
	deployStar(t, s, "out.star", `
name = "star.out"
input_optional = ["mode"]
output_required = ["name", "is_active"]
response_elem = "response"

def handle(self):
    mode = self.request.input.mode
    if mode == "missing":
        self.response.payload = {"name": "Jane"}
    elif mode == "bad":
        self.response.payload = {"name": "Jane", "is_active": "perhaps"}
    elif mode == "notfound":
        self.response.status_code = 404
        self.response.payload = {"error": "Not found"}
    elif mode == "text":
        self.response.payload = "plain text"
    else:
        self.response.payload = {"name": "Jane", "is_active": "yes", "extra": 1}
`)
	s.Channel("out", "star.out", "", "/out", nil)
	s.Channel("typed", "go.typed-missing", "", "/typed", nil)
	for mode, want := range map[string]struct {
		status int
		body   string
	}{
		"ok":       {200, `{"response":{"is_active":true,"name":"Jane"}}`},
		"missing":  {500, `"details":"Internal server error"`},
		"bad":      {500, `"details":"Internal server error"`},
		"notfound": {404, `{"error":"Not found"}`},
		"text":     {200, `plain text`},
	} {
		r := s.Call("GET", "/out?mode="+mode, "", nil)
		if r.StatusCode != want.status || !strings.Contains(string(r.Body), want.body) {
			t.Errorf("%s: %d %s", mode, r.StatusCode, r.Body)
		}
	}
	s.Log.WaitFor(t, "service failed", "service=star.out", "output element missing: is_active")
	s.Log.WaitFor(t, "service failed", "service=star.out", "output element has an invalid value: is_active")

	r := s.Call("POST", "/typed", `{"id": "12"}`, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"id":12}` {
		t.Errorf("typed handler with an undeclared response: %d %s", r.StatusCode, r.Body)
	}
}

func TestDeclarationErrors(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for src, want := range map[string]string{
		"input_required = [Int(\"x\", default = \"abc\")]\ndef handle(self):\n    pass\n":               `bad.star:1:1: input element \"x\": default: expected an integer, got \"abc\"`,
		"input_required = [\"-x\"]\ndef handle(self):\n    pass\n":                                      "a leading - marks an optional element only in input",
		"output = 5\ndef handle(self):\n    pass\n":                                                     "want a list of element names, not a int",
		"M = model(\"M\", a = 5)\ndef handle(self):\n    pass\n":                                        "field a: 5 is not a type",
		"M = model(\"M\", a = int)\ninput = M\ninput_required = [\"b\"]\ndef handle(self):\n    pass\n": "input is a model, so input_required and input_optional cannot be used too",
		"response_elem = 5\ndef handle(self):\n    pass\n":                                              "response_elem must be a string",
		"skip_empty_keys = 5\ndef handle(self):\n    pass\n":                                            "skip_empty_keys must be True, False or a list of names",
		"input_required = [list_of(int)]\ndef handle(self):\n    pass\n":                                "go in a model",
	} {
		status, body := deployStar(t, s, "bad.star", src)
		if status != 400 || !strings.Contains(body, want) {
			t.Errorf("%s\n%d %s\nwant %s", src, status, body, want)
		}
	}
	// A model instance refuses undeclared fields.
	deployStar(t, s, "inst.star", `
M = model("M", a = int)
def handle(self):
    m = M(a = 1)
    m.b = 2
`)
	s.Channel("inst", "inst", "", "/inst", nil)
	if r := s.Call("GET", "/inst", "", nil); r.StatusCode != 500 {
		t.Errorf("undeclared field: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, `M has no field \"b\"`)
}

func TestSchemaFileMissing(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	deployStar(t, s, "nofile.star", "schema = \"nope.json\"\ndef handle(self):\n    pass\n")
	s.Channel("nofile", "nofile", "", "/nofile", nil)
	r := s.Call("POST", "/nofile", `{}`, http.Header{})
	if r.StatusCode != 500 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "loading JSON Schema", "nope.json")
}

type badType struct{}

func (badType) Handle(*service.Context) error { return nil }
func (badType) SimpleIO() service.SimpleIO {
	return service.SimpleIO{InputRequired: []service.Elem{{Name: "x", Type: "money"}}}
}

type twice struct{}

func (twice) Handle(*service.Context, struct {
	A int `json:"a"`
}) (struct{}, error) {
	return struct{}{}, nil
}
func (twice) SimpleIO() service.SimpleIO { return service.SimpleIO{InputRequired: service.Names("a")} }

type notStruct struct{}

func (notStruct) Handle(*service.Context, int) (int, error) { return 0, nil }

type badField struct{}

func (badField) Handle(*service.Context, struct {
	C chan int `json:"c"`
}) (struct{}, error) {
	return struct{}{}, nil
}

// TestGoDeclarationErrors: a Go service with a bad declaration stops the
// server at start-up with a message naming it.
func TestGoDeclarationErrors(t *testing.T) {
	for v, want := range map[any]string{
		badType{}:   `service sio-test.bad-type: SimpleIO: input element "x": unknown type "money"`,
		twice{}:     "SimpleIO declares input and the Handle method takes a struct",
		notStruct{}: "func(*service.Context, Req) (Resp, error) with Req a struct",
		badField{}:  "request type: struct.C: a chan int cannot be an element",
	} {
		_, err := catalog.FromGo(v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%T: %v, want %s", v, err, want)
		}
	}
}
