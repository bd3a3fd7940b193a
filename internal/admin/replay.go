package admin

import (
	"errors"
	"net/http"

	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// listReplay lists the requests kept for replay, newest first: none
// unless the server runs in development mode.
func (a *API) listReplay(w http.ResponseWriter, r *http.Request) {
	recent := a.Pipeline.Recent()
	if recent == nil {
		reply.JSON(w, http.StatusOK, []any{})
		return
	}
	reply.JSON(w, http.StatusOK, recent)
}

// replay runs a kept request again against the code deployed now and
// answers both replies (see dispatch.Pipeline.Replay).
func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	out, err := a.Pipeline.Replay(r.Context(), r.PathValue("cid"))
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) {
			fail(w, se.Status, se.Message)
			return
		}
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply.JSON(w, http.StatusOK, out)
}
