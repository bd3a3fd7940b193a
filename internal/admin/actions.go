package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// maxActionBody bounds the body of an action.
const maxActionBody = 1 << 20

// actionInfo is an action as GET /kinds describes it.
type actionInfo struct {
	Name    string   `json:"name"`
	Doc     string   `json:"doc"`
	Aliases []string `json:"aliases,omitempty"`
}

// actionRoutes mounts every kind's actions: the one URL shape
// POST /objects/{kind}/{name}/{action}, and each action's older paths.
func (a *API) actionRoutes() {
	a.mux.Handle("POST "+Prefix+"/objects/{kind}/{name}/{action}", a.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, ok := a.kind(w, r)
		if !ok {
			return
		}
		act, ok := k.Action(r.PathValue("action"))
		if !ok {
			msg := "Kind " + k.ID + " has no action " + strconv.Quote(r.PathValue("action"))
			if len(k.Actions) > 0 {
				names := make([]string, len(k.Actions))
				for i, ka := range k.Actions {
					names[i] = ka.Name
				}
				msg += "; its actions are " + strings.Join(names, ", ")
			} else {
				msg += "; it has none"
			}
			fail(w, http.StatusNotFound, msg)
			return
		}
		a.runAction(w, r, k, act)
	})))
	for _, k := range registry.All() {
		for i := range k.Actions {
			act := &k.Actions[i]
			for _, alias := range act.Aliases {
				a.mux.Handle("POST "+Prefix+alias, a.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					a.runAction(w, r, k, act)
				})))
			}
		}
	}
}

// runAction runs an action on the object the URL names and answers what
// it returned, or its error.
func (a *API) runAction(w http.ResponseWriter, r *http.Request, k *registry.Kind, act *registry.Action) {
	name := r.PathValue("name")
	st := a.Runtime.State()
	obj, ok := st.Object(k.ID, name)
	if !ok {
		fail(w, http.StatusNotFound, "No "+noun(k.Title)+" named "+strconv.Quote(name))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "Request body is too large")
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = nil
	}
	id := cid.New()
	w.Header().Set(reply.CIDHeader, id)
	running, _ := st.Running(k.ID, name)
	var rev int64
	call := &registry.Call{
		Kind: k, Name: name, Object: obj, Running: running, State: st, Body: body, CID: id,
		Logger: a.Logger.With("cid", id, "kind", k.ID, "name", name, "action", act.Name),
		Apply: func(ctx context.Context, obj registry.Object, summary string) (int64, error) {
			res, err := a.Runtime.Apply(ctx, live.Changeset{Source: "admin", Summary: summary,
				Objects: []live.Change{{Kind: k.ID, Name: name, Object: obj}}})
			if err != nil {
				return 0, err
			}
			rev = res.Rev
			return rev, nil
		},
	}
	out, err := act.Run(r.Context(), call)
	if err != nil {
		a.actionError(w, id, k, name, act, err)
		return
	}
	if rev > 0 {
		w.Header().Set("X-Plexus-Revision", strconv.FormatInt(rev, 10))
	}
	status := act.Status
	if status == 0 {
		status = http.StatusOK
	}
	reply.JSON(w, status, out)
}

// actionError answers the error of an action: a refused change or
// problems 400 with every problem, a *service.Error its status and
// message, anything else 500 with the cause in the log.
func (a *API) actionError(w http.ResponseWriter, id string, k *registry.Kind, name string, act *registry.Action, err error) {
	var p *registry.Problem
	if ref, ok := live.IsRefused(err); ok {
		writeRefused(w, id, ref)
		return
	} else if errors.As(err, &p) {
		writeRefused(w, id, &live.Refused{Problems: registry.Locate(k.ID, name, []error{err})})
		return
	}
	var se *service.Error
	if errors.As(err, &se) {
		if se.Cause != nil {
			a.Logger.Warn("admin action failed", "cid", id, "kind", k.ID, "name", name, "action", act.Name, "error", se.Cause.Error())
		}
		reply.Envelope(w, se.Status, id, se.Message)
		return
	}
	a.Logger.Error("admin action failed", "cid", id, "kind", k.ID, "name", name, "action", act.Name, "error", err.Error())
	reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
}

// noun returns a kind's title as it reads inside a sentence: "Security
// definition" becomes "security definition", "REST channel" stays.
func noun(title string) string {
	first, size := utf8.DecodeRuneInString(title)
	second, _ := utf8.DecodeRuneInString(title[size:])
	if unicode.IsUpper(second) {
		return title
	}
	return string(unicode.ToLower(first)) + title[size:]
}
