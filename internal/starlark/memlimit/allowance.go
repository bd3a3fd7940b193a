// Package memlimit bounds the memory a Starlark program allocates.
// go.starlark.net counts execution steps but not memory, so a file is
// rewritten before it is compiled (Rewrite): every operation that can
// make a large value — +, *, %, slicing, literals, comprehensions, item
// assignment, growing methods such as join or append — becomes a call of
// a checked builtin (Predeclared), and the builtins that build values
// (list, dict, str, json.decode, …) are replaced by checked ones. Each
// estimates what it is about to allocate and charges it to the
// thread's Allowance before allocating; past the allowance the program
// fails with an error naming the setting.
//
// The allowance counts what is allocated, not what is still in use: a
// value made and thrown away in a loop counts every time.
package memlimit

import (
	"context"
	"fmt"
	"math"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/jsonlimit"
)

// Setting is the name of the setting an allowance comes from.
const Setting = "starlark.max_memory"

// FrameCost is what one Starlark call takes on the stack.
const FrameCost = 2 << 10

// checkEvery is how many steps pass between checks of a thread's call
// stack.
const checkEvery = 1 << 12

// Allowance is the memory a Starlark invocation, and the invocations it
// makes, may allocate. It is used by one goroutine at a time; a nil
// *Allowance is unlimited.
type Allowance struct {
	max  int64
	used int64
	// stack is held by the call stacks of the invocations waiting for the
	// one that runs.
	stack int64
}

// New returns an allowance of max bytes.
func New(max int64) *Allowance { return &Allowance{max: max} }

// Used returns the bytes charged so far.
func (a *Allowance) Used() int64 { return a.used }

// ExceededError is the error of a charge past the allowance.
type ExceededError struct {
	Max, Used, Need int64
	// What says what needed the memory.
	What string
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("%s (%s) exceeded: %s needs %s more, with %s used", Setting, jsonlimit.Bytes(e.Max), e.What,
		jsonlimit.Bytes(e.Need), jsonlimit.Bytes(e.Used))
}

// Charge counts n bytes about to be allocated for what, and refuses them
// past the allowance.
func (a *Allowance) Charge(n int64, what string) error {
	if a.take(n) {
		return nil
	}
	return a.exceeded(n, what)
}

// take counts n bytes if they fit.
func (a *Allowance) take(n int64) bool {
	if a == nil || n <= 0 {
		return true
	}
	if n > a.max-a.used-a.stack {
		return false
	}
	a.used += n
	return true
}

// exceeded is the error of n bytes that did not fit.
func (a *Allowance) exceeded(n int64, what string) error {
	return &ExceededError{Max: a.max, Used: a.used + a.stack, Need: n, What: what}
}

// Left returns how many bytes may still be charged.
func (a *Allowance) Left() int64 {
	if a == nil {
		return math.MaxInt64
	}
	return a.max - a.used - a.stack
}

const localKey = "plexus.memlimit"

// Attach makes a the allowance of thread's checked builtins. Call it
// before the thread runs.
func Attach(thread *sl.Thread, a *Allowance) { thread.SetLocal(localKey, a) }

// Of returns the allowance attached to thread, or nil.
func Of(thread *sl.Thread) *Allowance {
	a, _ := thread.Local(localKey).(*Allowance)
	return a
}

type contextKey struct{}

// WithAllowance returns a context that carries a, for the invocations made
// under it to share.
func WithAllowance(ctx context.Context, a *Allowance) context.Context {
	return context.WithValue(ctx, contextKey{}, a)
}

// FromContext returns the allowance ctx carries, or nil.
func FromContext(ctx context.Context) *Allowance {
	a, _ := ctx.Value(contextKey{}).(*Allowance)
	return a
}

// Watch stops thread after maxSteps execution steps, as
// SetMaxExecutionSteps does, and every few thousand steps checks that its
// call stack fits in the allowance: deep recursion is stopped long before
// Starlark's own limit of 100,000 calls.
func (a *Allowance) Watch(thread *sl.Thread, maxSteps uint64) {
	if a == nil {
		thread.SetMaxExecutionSteps(maxSteps)
		return
	}
	thread.SetMaxExecutionSteps(min(maxSteps, thread.Steps+checkEvery))
	thread.OnMaxSteps = func(th *sl.Thread) {
		if th.Steps >= maxSteps {
			th.Cancel("too many steps")
			return
		}
		if err := a.checkStack(th); err != nil {
			th.Cancel(err.Error())
			return
		}
		th.SetMaxExecutionSteps(min(maxSteps, th.Steps+checkEvery))
	}
}

func (a *Allowance) checkStack(thread *sl.Thread) error {
	depth := int64(thread.CallStackDepth())
	if need := depth * FrameCost; need > a.max-a.used-a.stack {
		return &ExceededError{Max: a.max, Used: a.used + a.stack, Need: need, What: fmt.Sprintf("a call stack %d calls deep", depth)}
	}
	return nil
}

// Nest counts thread's call stack as held while it waits for an
// invocation it makes, and returns the function that stops counting it.
func (a *Allowance) Nest(thread *sl.Thread) (done func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	if err := a.checkStack(thread); err != nil {
		return nil, err
	}
	held := int64(thread.CallStackDepth()) * FrameCost
	a.stack += held
	return func() { a.stack -= held }, nil
}
