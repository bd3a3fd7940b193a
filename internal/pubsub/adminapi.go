package pubsub

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// Router is where the engine adds its admin API calls: the admin API,
// whose Handle protects them with the admin login.
type Router = interface {
	Handle(pattern string, h http.HandlerFunc)
}

// Routes adds the views of topics, queues and messages to the admin API
// under prefix (/admin/api/v1):
//
//	GET prefix/pubsub/topics                       every topic with its depth
//	GET prefix/pubsub/subscriptions                every subscription with its numbers
//	GET prefix/pubsub/subscriptions/{name}         one subscription's numbers
//	GET prefix/pubsub/subscriptions/{name}/messages?offset=&limit=&state=dead
//	                                               a page of its queue, or of its dead letters
//	GET prefix/pubsub/messages/{msg_id}            one message, its data and deliveries
//
// Operations on queues (publish, get, ack, clear, redeliver, pause,
// resume) are the kinds' actions (actions.go), under
// POST prefix/objects/{kind}/{name}/{action}; actionRoutes serves them
// there while the kinds' registration does not declare them.
func (e *Engine) Routes(r Router, prefix string) {
	e.actionRoutes(r, prefix)
	base := prefix + "/pubsub"
	r.Handle("GET "+base+"/topics", e.apiTopics)
	r.Handle("GET "+base+"/subscriptions", e.apiSubscriptions)
	r.Handle("GET "+base+"/subscriptions/{name}", e.apiSubscription)
	r.Handle("GET "+base+"/subscriptions/{name}/messages", e.apiBrowse)
	r.Handle("GET "+base+"/messages/{msg_id}", e.apiMessage)
}

func (e *Engine) apiTopics(w http.ResponseWriter, r *http.Request) {
	st, err := e.Stats(r.Context())
	if err != nil {
		e.apiError(w, err)
		return
	}
	reply.JSON(w, http.StatusOK, nonNil(st.Topics))
}

func (e *Engine) apiSubscriptions(w http.ResponseWriter, r *http.Request) {
	st, err := e.Stats(r.Context())
	if err != nil {
		e.apiError(w, err)
		return
	}
	reply.JSON(w, http.StatusOK, nonNil(st.Subscriptions))
}

func (e *Engine) apiSubscription(w http.ResponseWriter, r *http.Request) {
	s, err := e.subscriptionStats(r.Context(), r.PathValue("name"))
	if err != nil {
		e.apiError(w, err)
		return
	}
	reply.JSON(w, http.StatusOK, s)
}

func (e *Engine) apiBrowse(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var p PageRequest
	for _, f := range []struct {
		name string
		to   *int
		max  int
	}{{"offset", &p.Offset, 1 << 30}, {"limit", &p.Limit, MaxPage}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > f.max {
			e.apiError(w, service.BadRequest("Query parameter %s must be a whole number from 0 to %d", f.name, f.max))
			return
		}
		*f.to = n
	}
	name := r.PathValue("name")
	if _, err := e.subscriptionStats(r.Context(), name); err != nil {
		e.apiError(w, err)
		return
	}
	var page *Page
	var err error
	switch q.Get("state") {
	case "", "queue":
		page, err = e.Browse(r.Context(), name, p)
	case StateDead:
		page, err = e.DeadLetters(r.Context(), name, p)
	default:
		err = service.BadRequest("Query parameter state must be queue (the default) or dead")
	}
	if err != nil {
		e.apiError(w, err)
		return
	}
	if page == nil {
		page = &Page{}
	}
	page.Messages = nonNil(page.Messages)
	reply.JSON(w, http.StatusOK, page)
}

func (e *Engine) apiMessage(w http.ResponseWriter, r *http.Request) {
	m, err := e.Message(r.Context(), r.PathValue("msg_id"))
	if err != nil {
		e.apiError(w, err)
		return
	}
	reply.JSON(w, http.StatusOK, m)
}

// apiError answers an admin API view's error in the error envelope: a
// *service.Error with its status and message, anything else 500 with the
// cause in the log.
func (e *Engine) apiError(w http.ResponseWriter, err error) {
	id := cid.New()
	w.Header().Set(reply.CIDHeader, id)
	var se *service.Error
	if errors.As(err, &se) {
		reply.Envelope(w, se.Status, id, se.Message)
		return
	}
	e.opts.Logger.Error("pub/sub admin API call failed", "cid", id, "error", err.Error())
	reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
}

// nonNil returns s, or an empty slice for nil, which JSON shows as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// actionRoutes serves the actions of actions.go on the admin API's URL of
// kind actions, POST prefix/objects/{kind}/{name}/{action}, for a kind
// whose registration does not declare them; a declared action is served
// by the admin API itself.
func (e *Engine) actionRoutes(r Router, prefix string) {
	for id, acts := range map[string]func() []registry.Action{KindTopic: topicActions, KindSubscription: subscriptionActions} {
		k, ok := registry.Lookup(id)
		if !ok || len(k.Actions) > 0 {
			continue
		}
		byName := map[string]registry.Action{}
		for _, a := range acts() {
			byName[a.Name] = a
		}
		r.Handle("POST "+prefix+"/objects/"+id+"/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
			act, ok := byName[r.PathValue("action")]
			if !ok {
				e.apiError(w, service.NotFound("Kind %s has no action %q; its actions are %s", id, r.PathValue("action"), actionNames(acts())))
				return
			}
			e.runAction(w, r, k, act)
		})
	}
}

// runAction runs an action on the object the URL names, as the admin API
// runs kinds' actions.
func (e *Engine) runAction(w http.ResponseWriter, r *http.Request, k *registry.Kind, act registry.Action) {
	name := r.PathValue("name")
	st := e.opts.State()
	obj, ok := st.Object(k.ID, name)
	if !ok {
		e.apiError(w, service.NotFound("No %s named %q", strings.ToLower(k.Title[:1])+k.Title[1:], name))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
	if err != nil {
		e.apiError(w, service.NewError(http.StatusRequestEntityTooLarge, "Request body is too large"))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = nil
	}
	id := cid.New()
	running, _ := st.Running(k.ID, name)
	call := &registry.Call{Kind: k, Name: name, Object: obj, Running: running, State: st, Body: body, CID: id,
		Logger: e.opts.Logger.With("cid", id, "kind", k.ID, "name", name, "action", act.Name)}
	out, err := act.Run(r.Context(), call)
	w.Header().Set(reply.CIDHeader, id)
	var se *service.Error
	switch {
	case errors.As(err, &se):
		reply.Envelope(w, se.Status, id, se.Message)
	case err != nil:
		e.opts.Logger.Error("admin action failed", "cid", id, "kind", k.ID, "name", name, "action", act.Name, "error", err.Error())
		reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
	default:
		reply.JSON(w, http.StatusOK, out)
	}
}

// maxActionBody bounds the body of an action, as the admin API does.
const maxActionBody = 1 << 20

func actionNames(acts []registry.Action) string {
	names := make([]string, len(acts))
	for i, a := range acts {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}
