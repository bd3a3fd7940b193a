package security

import (
	"context"
	"errors"
	"fmt"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// createTimeout bounds the store write of a session created by a service.
const createTimeout = 10 * time.Second

// createJWT is the resource service.KindJWT of the security kind: each
// resolution starts a session for the username of a jwt definition of the
// state and returns a service.SessionToken (Go: s.CreateJWT(username)).
func createJWT(st registry.State, username string) (any, error) {
	sessions, ok := registry.Subsystem[*Sessions](st.Env())
	if !ok {
		return nil, errors.New("JWT sessions are not available here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	token, expires, err := CreateToken(ctx, st, sessions, username)
	if err != nil {
		return nil, err
	}
	return service.SessionToken{Token: token, Expires: expires}, nil
}

// selfJWT is self.security.jwt of every Starlark service:
// self.security.jwt.create(username) returns the token of a new session
// for the username of a jwt definition, as s.CreateJWT does in Go.
func selfJWT(c *service.Context) (sl.Value, error) {
	create := sl.NewBuiltin("create", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var username string
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "username", &username); err != nil {
			return nil, err
		}
		t, err := c.CreateJWT(username)
		if err != nil {
			return nil, fmt.Errorf("security.jwt.create: %w", err)
		}
		return sl.String(t.Token), nil
	})
	return starlarkstruct.FromStringDict(sl.String("security.jwt"), sl.StringDict{"create": create}), nil
}
