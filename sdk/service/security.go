package service

import (
	"fmt"
	"time"
)

// KindJWT is the resource kind that creates Plexus JWT session tokens:
// Platform().Resource(c, KindJWT, username) starts a session.
const KindJWT = "jwt"

// SessionToken is a Plexus JWT session token: opaque, sent by clients as
// Authorization: Bearer <Token>, valid until Expires and extended by every
// request it authenticates.
type SessionToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// CreateJWT starts a session for the username of a jwt security
// definition, on the user's behalf, and returns its token: what
// POST /plexus/jwt/log-in does, without the password, for services that
// authenticated the user another way and hand the token to a browser.
func (c *Context) CreateJWT(username string) (SessionToken, error) {
	r, err := c.platform.Resource(c, KindJWT, username)
	if err != nil {
		return SessionToken{}, err
	}
	t, ok := r.(SessionToken)
	if !ok {
		return SessionToken{}, fmt.Errorf("creating a session token: the platform returned a %T", r)
	}
	return t, nil
}
