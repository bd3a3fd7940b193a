package builtin

import (
	"fmt"
	"net/url"

	"github.com/plexushq/plexus/sdk/service"
)

// Demo is a demo service with the REST channel quickstart mounts it on.
type Demo struct {
	Service string
	Channel string
	URLPath string
	Method  string
}

// Demos lists the demo channels quickstart creates, the seed's curl lines
// pointing at them.
func Demos() []Demo {
	return []Demo{
		{"demo.log-input-data", "demo.log-input-data", "/api/log-input-data", ""},
		{"demo.multi-verb", "demo.multi-verb", "/api/multi-verb", ""},
		{"demo.request-object", "demo.request-object", "/api/request-object", ""},
		{"demo.response-object", "demo.response-object", "/api/response-object", ""},
		{"demo.service-csv", "demo.service-csv", "/api/csv", "GET"},
		{"demo.attachment", "demo.attachment", "/api/attachment", "GET"},
		{"demo.configuring-cors", "demo.configuring-cors", "/api/cors", ""},
		{"plexus.helpers.echo", "demo.echo", "/api/echo", ""},
		{"plexus.ping", "plexus.ping", "/plexus/ping", ""},
	}
}

func demos() []any {
	return []any{
		&LogInputData{}, &MultiVerb{}, &RequestObject{}, &ResponseObject{},
		&ServiceCSV{}, &Attachment{}, &ConfiguringCORS{},
	}
}

// LogInputData logs input data.
type LogInputData struct{}

func (*LogInputData) Name() string { return "demo.log-input-data" }
func (*LogInputData) Doc() string {
	return "Logs input data: the user_id and user_name of a JSON request."
}

// Handle logs the user ID and name.
func (*LogInputData) Handle(s *service.Context) error {
	s.Logger().Info(fmt.Sprintf("uid:%s; username:%s", s.Request.Input.String("user_id"), s.Request.Input.String("user_name")))
	return nil
}

// MultiVerb answers GET and POST; other verbs get 405.
type MultiVerb struct{}

func (*MultiVerb) Name() string { return "demo.multi-verb" }
func (*MultiVerb) Doc() string {
	return "Answers GET and POST, logging which one it got; other verbs are answered 405."
}

// HandleGET logs a GET.
func (*MultiVerb) HandleGET(s *service.Context) error {
	s.Logger().Info("I was invoked via GET")
	return nil
}

// HandlePOST logs a POST.
func (*MultiVerb) HandlePOST(s *service.Context) error {
	s.Logger().Info("I was invoked via POST")
	return nil
}

// RequestObject returns what the request object holds.
type RequestObject struct{}

func (*RequestObject) Name() string { return "demo.request-object" }
func (*RequestObject) Doc() string {
	return "Returns everything the request object holds: payload, raw request, cid, query, form, method, path, parameters, form data and security details."
}

// Handle returns the request's attributes as JSON.
func (*RequestObject) Handle(s *service.Context) error {
	formData := map[string]any{}
	if form, err := s.Request.HTTP.GetFormData(); err == nil {
		for k, vs := range form.Values {
			formData[k] = vs
		}
		for k, files := range form.Files {
			for _, f := range files {
				formData[k] = map[string]any{"filename": f.Filename, "content_type": f.ContentType, "size": len(f.Data)}
			}
		}
	}
	s.Response.Payload = map[string]any{
		"payload":     s.Request.Payload,
		"raw_request": string(s.Request.RawRequest),
		"input":       s.Request.Input,
		"cid":         s.CID,
		"GET":         orEmpty(s.Request.HTTP.GET),
		"POST":        orEmpty(s.Request.HTTP.POST),
		"method":      s.Request.HTTP.Method,
		"path":        s.Request.HTTP.Path,
		"params":      s.Request.HTTP.Params,
		"form_data":   formData,
		"username":    s.Channel.Security.Username,
		"sec_info":    s.Channel.Security,
	}
	return nil
}

// orEmpty makes a nil url.Values (no query string, no form) an empty
// object rather than null in JSON.
func orEmpty(v url.Values) url.Values {
	if v == nil {
		return url.Values{}
	}
	return v
}

// ResponseObject shows what a response can carry.
type ResponseObject struct{}

func (*ResponseObject) Name() string { return "demo.response-object" }
func (*ResponseObject) Doc() string {
	return "Sets every response attribute: a JSON payload, the status, gzip content encoding (for clients that accept it) and custom headers."
}

// Handle fills in the response.
func (*ResponseObject) Handle(s *service.Context) error {
	s.Response.Payload = map[string]any{"user_id": "123", "user_name": "my.user"}
	s.Response.StatusCode = 200
	s.Response.ContentEncoding = "gzip"
	s.Response.SetHeader("Strict-Transport-Security", "max-age=16070400")
	s.Response.SetHeader("X-Powered-By", "My-API-Server")
	s.Response.SetHeader("X-My-Header", "My-Value")
	return nil
}

// ServiceCSV returns CSV.
type ServiceCSV struct{}

func (*ServiceCSV) Name() string { return "demo.service-csv" }
func (*ServiceCSV) Doc() string  { return "Returns CSV data with Content-Type text/csv." }

// Handle returns two CSV rows.
func (*ServiceCSV) Handle(s *service.Context) error {
	s.Response.Payload = "1,2,3\n4,5,6"
	s.Response.ContentType = "text/csv"
	return nil
}

// Attachment returns an attachment.
type Attachment struct{}

func (*Attachment) Name() string { return "demo.attachment" }
func (*Attachment) Doc() string  { return "Returns a text file as an attachment named hello.txt." }

// Handle returns the attachment.
func (*Attachment) Handle(s *service.Context) error {
	s.Response.Payload = "Hello, this is an attachment"
	s.Response.SetHeader("Content-Disposition", "attachment; filename=hello.txt")
	return nil
}

// ConfiguringCORS answers CORS preflight requests.
type ConfiguringCORS struct{}

// AllowedOrigin is the origin ConfiguringCORS admits.
const AllowedOrigin = "https://www.example.com"

func (*ConfiguringCORS) Name() string { return "demo.configuring-cors" }
func (*ConfiguringCORS) Doc() string {
	return "Answers POST, and OPTIONS preflight requests with CORS headers allowing " + AllowedOrigin + "."
}

// HandlePOST is the actual implementation.
func (*ConfiguringCORS) HandlePOST(s *service.Context) error {
	s.Response.SetHeader("Access-Control-Allow-Origin", AllowedOrigin)
	s.Response.Payload = map[string]any{"ok": true}
	return nil
}

// HandleOPTIONS sets the CORS headers.
func (*ConfiguringCORS) HandleOPTIONS(s *service.Context) error {
	s.Response.SetHeader("Access-Control-Allow-Origin", AllowedOrigin)
	s.Response.SetHeader("Access-Control-Allow-Methods", "POST, OPTIONS")
	s.Response.SetHeader("Access-Control-Allow-Headers", "Content-Type")
	s.Response.SetHeader("Access-Control-Max-Age", "86400")
	return nil
}
