package security

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/runtime"
)

// PasswordPath is the admin API route of change-password, under the admin
// prefix.
const PasswordPath = "/objects/" + Kind + "/{name}/password"

// maxPasswordBody bounds a change-password request.
const maxPasswordBody = 64 << 10

// ChangePassword sets the password of a definition through the one change
// path: the definition is copied with the new password and applied, so the
// next request checks the new one. It refuses types without a password
// (mtls) and an empty password.
func ChangePassword(r *http.Request, rt *runtime.Runtime, name, password string) (*runtime.Result, error) {
	kind, _ := registry.Lookup(Kind)
	cur, ok := rt.State().Object(Kind, name)
	if !ok {
		return nil, errNoDefinition
	}
	d := kind.Clone(cur).(*Definition)
	switch {
	case !HasPassword(d.Type):
		return nil, &runtime.Refused{Problems: registry.Locate(Kind, name, []error{registry.FieldProblem("password", "definitions of type %s have no password", d.Type)})}
	case password == "" || password == registry.SecretPlaceholder:
		return nil, &runtime.Refused{Problems: registry.Locate(Kind, name, []error{registry.FieldProblem("password", "must not be empty")})}
	case strings.ContainsAny(password, "\r\n\x00"):
		return nil, &runtime.Refused{Problems: registry.Locate(Kind, name, []error{registry.FieldProblem("password", "must not contain line breaks")})}
	}
	d.Password = password
	return rt.Apply(r.Context(), runtime.Changeset{
		Source:  "admin",
		Summary: "change password of security " + strconv.Quote(name),
		Objects: []runtime.Change{{Kind: Kind, Name: name, Object: d}},
	})
}

var errNoDefinition = errors.New("no such security definition")

// PasswordHandler serves POST /admin/api/v1/objects/security/{name}/password
// with {"password": "…"}: it answers 200 with {"result": "OK", "name": …,
// "rev": …}, 404 for an unknown definition and 400 listing the problems of
// a refused password. The password is never logged or echoed.
func PasswordHandler(rt *runtime.Runtime, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := cid.New()
		w.Header().Set(reply.CIDHeader, id)
		name := r.PathValue("name")
		var body struct {
			Password *string `json:"password"`
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPasswordBody))
		if err != nil {
			reply.Envelope(w, http.StatusRequestEntityTooLarge, id, "Request body is too large")
			return
		}
		if err := json.Unmarshal(data, &body); err != nil || body.Password == nil {
			reply.Envelope(w, http.StatusBadRequest, id, `Expected {"password": "…"}`)
			return
		}
		res, err := ChangePassword(r, rt, name, *body.Password)
		switch {
		case errors.Is(err, errNoDefinition):
			reply.Envelope(w, http.StatusNotFound, id, "No security definition named "+strconv.Quote(name))
			return
		case err != nil:
			if ref, ok := runtime.IsRefused(err); ok {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"result": "Error", "cid": id, "details": ref.Error(), "problems": ref.Problems})
				return
			}
			log.Error("changing password", "cid", id, "definition", name, "error", err.Error())
			reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
			return
		}
		log.Info("security definition password changed", "cid", id, "definition", name, "rev", res.Rev)
		w.Header().Set("X-Plexus-Revision", strconv.FormatInt(res.Rev, 10))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"result": "OK", "name": name, "rev": res.Rev})
	}
}
