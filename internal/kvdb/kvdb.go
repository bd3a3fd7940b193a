// Package kvdb is the server's key-value database, self.kvdb.conn in
// services: Redis commands (strings, counters, expiry, hashes, lists,
// sets, sorted sets, scan, pipelines, publish) run either by the embedded
// store, in the environment's configuration database (SQLite or
// PostgreSQL), or by a Redis server through an outgoing_redis connection
// (plexus.yaml kvdb.redis). Both implement Conn, and services use the
// same methods, from Go (Client) and from Starlark, either way: code
// moves from a laptop to a cluster unchanged.
package kvdb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/sdk/service"
)

// Conn runs Redis commands. It is safe for concurrent use.
type Conn interface {
	// Do runs commands in order and returns one Result for each: the
	// embedded store runs them in one transaction, Redis in one pipeline
	// round trip. Each command is its name and arguments, such as
	// {"SET", "key", "value"}. A command the server refuses (a wrong
	// type, say) is the Err of its Result; the error returned means the
	// commands could not be run at all (the server is unreachable).
	Do(ctx context.Context, cmds ...[]string) ([]Result, error)
	// Backend names what runs the commands: "embedded" or "redis".
	Backend() string
}

// Result is the reply to one command, as Redis's RESP2 protocol gives it:
// Val is nil (a missing value), a string, an int64 or a []any of these.
type Result = service.KVResult

// Limits of the embedded store.
const (
	// MaxValueSize is the largest value one key of the embedded store
	// holds, a collection's members together; larger is an error.
	MaxValueSize = 32 << 20
	// MaxKeySize is the longest key the embedded store takes (PostgreSQL
	// indexes no longer one); a longer key is an error.
	MaxKeySize = 2048
	// MaxScanCount is the most keys one SCAN looks at, whatever its COUNT.
	MaxScanCount = 10000
	// MaxScanIter is the most keys scan_iter returns; past it, it fails.
	MaxScanIter = 100000
	// MaxPipeline is the most commands one pipeline runs.
	MaxPipeline = 10000
)

// ReplyError is a command refused by the store, as Redis refuses it: its
// text starts with a code such as ERR or WRONGTYPE.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// Errors the embedded store answers, with Redis's texts.
var (
	errWrongType  = ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")
	errNotInteger = ReplyError("ERR value is not an integer or out of range")
	errNotFloat   = ReplyError("ERR value is not a valid float")
	errSyntax     = ReplyError("ERR syntax error")
	errTooLarge   = ReplyError(fmt.Sprintf("ERR value is larger than the embedded store's limit of %d bytes", MaxValueSize))
	errKeyTooLong = ReplyError(fmt.Sprintf("ERR key is longer than the embedded store's limit of %d bytes", MaxKeySize))
)

func errArity(cmd string) error {
	return ReplyError(fmt.Sprintf("ERR wrong number of arguments for '%s' command", strings.ToLower(cmd)))
}

// unreachable wraps an error of a connection that could not run commands
// into the error a service's caller gets: 502 naming the connection, the
// cause in the log.
func unreachable(backend string, err error) error {
	var se *service.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &service.Error{Status: http.StatusGatewayTimeout, Message: fmt.Sprintf("The %s did not answer in time", backend), Cause: err}
	}
	return &service.Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("The %s could not run the command: %v", backend, err), Cause: err}
}

// Unreachable is the error of a Conn whose server could not run commands:
// a *service.Error 502 (504 on a timeout) naming what, such as
// `Redis connection "cache"`, with err as its cause.
func Unreachable(what string, err error) error { return unreachable(what, err) }

// formatFloat spells a float as Redis does.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
