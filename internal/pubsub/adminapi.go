package pubsub

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/plexushq/plexus/internal/cid"
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
// resume) are the kinds' actions (actions.go), which the admin API serves
// under POST prefix/objects/{kind}/{name}/{action}.
func (e *Engine) Routes(r Router, prefix string) {
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
