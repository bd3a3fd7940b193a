// Package stdlib is the standard library of Starlark services: modules
// named and shaped as Python's — time, re, hashlib, hmac, base64, uuid,
// random, secrets, decimal, csv, xml, io, http_status — and catch, Starlark's
// try/except. They are predeclared, so a service uses them without an
// import, as a Python module uses its imports.
//
// Every function stays within the limits of the invocation that calls it:
// work proportional to its input is counted in execution steps, refused
// up front when it would pass starlark.max_steps, and what it allocates is
// charged to the invocation's memory. A limit error stops the service;
// catch does not catch it.
package stdlib

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
)

// Limits bound what the library does for one invocation.
type Limits struct {
	// MaxSteps is the invocation's step limit (starlark.max_steps); work
	// that would pass it is refused before it starts. 0 means no limit.
	MaxSteps uint64
	// MaxPattern is the longest regular expression re accepts
	// (starlark.max_pattern_size). 0 means DefaultMaxPattern.
	MaxPattern int
	// Now is the clock of time.now and uuid7; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxPattern is the default of starlark.max_pattern_size.
const DefaultMaxPattern = 16 << 10

// Settings named by limit errors.
const (
	StepsSetting   = "starlark.max_steps"
	PatternSetting = "starlark.max_pattern_size"
)

const localKey = "plexus.stdlib"

// Attach gives thread's library calls their limits. Call it before the
// thread runs; a thread without limits has no step limit of its own
// beyond the interpreter's.
func Attach(thread *sl.Thread, l Limits) { thread.SetLocal(localKey, &l) }

func limitsOf(thread *sl.Thread) *Limits {
	if thread != nil {
		if l, ok := thread.Local(localKey).(*Limits); ok {
			return l
		}
	}
	return &Limits{}
}

func now(thread *sl.Thread) time.Time {
	if l := limitsOf(thread); l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// LimitError is the error of work refused because it would pass a limit
// of the invocation. It stops the service: catch does not catch it.
type LimitError struct {
	// Setting names the limit.
	Setting string
	// Msg says what was refused.
	Msg string
}

func (e *LimitError) Error() string { return e.Setting + " exceeded: " + e.Msg }

// IsLimit reports whether err stops a service whatever catches it: a
// limit of the invocation, or its cancellation.
func IsLimit(err error) bool {
	var le *LimitError
	var me *memlimit.ExceededError
	if errors.As(err, &le) || errors.As(err, &me) {
		return true
	}
	return isFatal(err)
}

// Steps per unit of work done by the library's Go code: one step for
// every stepBytes bytes of input a function reads.
const stepBytes = 64

// spend counts n steps of work about to be done for what, and refuses
// it, stopping the thread, when it would pass the invocation's step
// limit.
func spend(thread *sl.Thread, n uint64, what string) error {
	if thread == nil || n == 0 {
		return nil
	}
	l := limitsOf(thread)
	if l.MaxSteps > 0 && (thread.Steps+n > l.MaxSteps || thread.Steps+n < thread.Steps) {
		err := &LimitError{Setting: StepsSetting, Msg: fmt.Sprintf("%s needs %d steps, and %d of %d are used", what, n, thread.Steps, l.MaxSteps)}
		thread.Cancel(err.Error())
		return err
	}
	thread.Steps += n
	return nil
}

// spendBytes counts the steps of reading n bytes.
func spendBytes(thread *sl.Thread, n int, what string) error {
	return spend(thread, uint64(n)/stepBytes+1, what)
}

// charge counts n bytes about to be allocated for what against the
// invocation's memory allowance (starlark.max_memory), refusing them past
// it.
func charge(thread *sl.Thread, n int64, what string) error {
	if thread == nil {
		return nil
	}
	return memlimit.Of(thread).Charge(n, what)
}

// Cost estimates of values the library makes, for charge: memlimit's for
// Starlark's own values, and objectCost for the library's (a match, an
// element, a time).
const (
	stringCost = 16 // memlimit.StringCost(0)
	slotCost   = 16
	objectCost = 64
)

func textBytes(n int) int64 { return memlimit.StringCost(int64(n)) }
func listBytes(n int) int64 { return memlimit.ListCost(int64(n)) }
func dictBytes(n int) int64 { return memlimit.DictCost(int64(n)) }

// module returns a frozen module of builtins named name.function.
func module(name string, members sl.StringDict) *starlarkstruct.Module {
	m := &starlarkstruct.Module{Name: name, Members: members}
	m.Freeze()
	return m
}

// builtinFunc is the shape of the library's functions.
type builtinFunc = func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)

// fns makes a dict of builtins from name → function, naming each
// prefix.name in errors.
func fns(prefix string, m map[string]builtinFunc) sl.StringDict {
	d := make(sl.StringDict, len(m))
	for name, f := range m {
		full := name
		if prefix != "" {
			full = prefix + "." + name
		}
		d[name] = sl.NewBuiltin(full, f)
	}
	return d
}

var predeclared = sync.OnceValue(func() sl.StringDict {
	d := sl.StringDict{
		"time":        timeModule(),
		"re":          reModule(),
		"hashlib":     hashlibModule(),
		"hmac":        hmacModule(),
		"base64":      base64Module(),
		"uuid":        uuidModule(),
		"random":      randomModule(),
		"secrets":     secretsModule(),
		"decimal":     decimalModule(),
		"http_status": httpStatusModule(),
		"csv":         csvModule(),
		"xml":         xmlModule(),
		"io":          ioModule(),
		"bson":        bsonModule(),
		"catch":       sl.NewBuiltin("catch", catch),
		"int":         sl.NewBuiltin("int", convertInt),
		"float":       sl.NewBuiltin("float", convertFloat),
		"abs":         sl.NewBuiltin("abs", absolute),
		"round":       sl.NewBuiltin("round", round),
		"sum":         sl.NewBuiltin("sum", sum),
		"format":      sl.NewBuiltin("format", format),
	}
	d["HTTPStatus"] = d["http_status"]
	d.Freeze()
	return d
})

// Predeclared returns the library's names, for every script to see: its
// modules, catch, Python's round, sum and format, and int, float and abs,
// which also take decimals. The
// values are frozen and safe for concurrent use.
func Predeclared() sl.StringDict { return predeclared() }

// text returns a str or bytes argument as a string.
func text(fn string, v sl.Value) (string, error) {
	switch x := v.(type) {
	case sl.String:
		return string(x), nil
	case sl.Bytes:
		return string(x), nil
	}
	return "", fmt.Errorf("%s: got %s, want str or bytes", fn, v.Type())
}

// plural returns n and a noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// fatalMarkers are the texts of errors that stop an invocation: its
// cancellation (by the step limit, a memory limit, or the request's end).
var fatalMarkers = []string{"Starlark computation cancelled", "context canceled", "context deadline exceeded"}

func isFatal(err error) bool {
	msg := err.Error()
	for _, m := range fatalMarkers {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
