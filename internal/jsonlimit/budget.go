package jsonlimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/plexushq/plexus/sdk/service"
)

// BudgetWait is how long a reservation that does not fit waits for room
// before it is refused.
const BudgetWait = 100 * time.Millisecond

// Budget bounds the memory that the decoded bodies of all requests in
// flight take at once: each request reserves what its values take before
// they are made and gives it back when it is answered. It is safe for
// concurrent use.
type Budget struct {
	sem     *semaphore.Weighted
	size    int64
	setting string
}

// NewBudget returns a budget of size bytes; setting names it in messages.
func NewBudget(size int64, setting string) *Budget {
	return &Budget{sem: semaphore.NewWeighted(size), size: size, setting: setting}
}

// Reserve takes n bytes, waiting up to BudgetWait for room, and returns
// the function that gives them back. A reservation that could never fit
// is a *service.Error 413; one that finds no room in time is a 503 with
// Retry-After.
func (b *Budget) Reserve(ctx context.Context, n int64) (release func(), err error) {
	if b == nil || n <= 0 {
		return func() {}, nil
	}
	if n > b.size {
		return nil, &service.Error{Status: http.StatusRequestEntityTooLarge, Message: "Request body is too large to decode",
			Cause: fmt.Errorf("its values would take %s, more than %s (%s)", Bytes(n), b.setting, Bytes(b.size))}
	}
	if !b.sem.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, BudgetWait)
		err := b.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			e := &service.Error{Status: http.StatusServiceUnavailable, Message: "Server is busy decoding other requests; retry later",
				Cause: fmt.Errorf("%s (%s) is taken by the requests in flight", b.setting, Bytes(b.size))}
			return nil, e.WithHeader("Retry-After", "1")
		}
	}
	return func() { b.sem.Release(n) }, nil
}

// Bytes formats a number of bytes for messages: 64MiB, 1.5GiB, 512KiB.
func Bytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d%s", int64(f), units[u])
	}
	return fmt.Sprintf("%.1f%s", f, units[u])
}

// RequestError turns an error of Parse, Decode or GoCost about a request
// body into the error its caller is answered with: 400 "Invalid JSON: …"
// for a malformed or too deeply nested body, 413 for one with too many
// values. Other errors are returned as they are.
func RequestError(err error, lim Limits) error {
	var se *SyntaxError
	var tm *TooManyValuesError
	switch {
	case errors.Is(err, ErrTooDeep):
		return &service.Error{Status: http.StatusBadRequest, Message: "Invalid JSON: nested too deeply",
			Cause: fmt.Errorf("more than %d levels", lim.maxDepth())}
	case errors.As(err, &tm):
		return service.NewError(http.StatusRequestEntityTooLarge, "Request body has more than %d JSON values", tm.Limit)
	case errors.As(err, &se):
		return service.BadRequest("Invalid JSON: %s", se.Msg)
	}
	return err
}
