package service

// Handler is a service that answers every verb with one method.
//
//	type LogInputData struct{}
//
//	func (LogInputData) Handle(s *service.Context) error {
//		s.Logger().Info(fmt.Sprintf("uid:%s; username:%s", s.Request.Input["user_id"], s.Request.Input["user_name"]))
//		return nil
//	}
//
// Instead of Handle a service may have one method per HTTP verb, named
// Handle followed by the verb in capitals (HandleGET, HandlePOST, …, any
// verb); it then answers only those verbs, and others get 405 with an Allow
// header. A service with both answers its verbs with their methods and
// every other verb with Handle.
//
// Optional methods describe the service:
//
//	Name() string  // the service's name; default derived from the Go type
//	Doc() string   // its documentation, shown by the admin API and apidocs
type Handler interface {
	Handle(*Context) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(*Context) error

// Handle calls f(c).
func (f HandlerFunc) Handle(c *Context) error { return f(c) }

// Func returns a service with a name, documentation and a handler function.
func Func(name, doc string, fn func(*Context) error) Handler {
	return &funcService{name: name, doc: doc, fn: fn}
}

type funcService struct {
	name, doc string
	fn        func(*Context) error
}

func (f *funcService) Name() string            { return f.name }
func (f *funcService) Doc() string             { return f.doc }
func (f *funcService) Handle(c *Context) error { return f.fn(c) }
