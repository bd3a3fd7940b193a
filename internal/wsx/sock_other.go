//go:build !unix

package wsx

import "errors"

const canTry = false

// try is not implemented here: the hijacker wraps no connection in a sock.
func (s *sock) try(p []byte) (int, error) { return 0, errors.New("not supported") }
