package stdlib

import (
	"testing"
	"time"

	"go.starlark.net/lib/json"
	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// testClock is the clock of the tests: 2022-02-22T19:22:22.123456789Z.
var testClock = time.Date(2022, 2, 22, 19, 22, 22, 123456789, time.UTC)

func newThread(l Limits) *sl.Thread {
	th := &sl.Thread{Name: "test"}
	if l.Now == nil {
		l.Now = func() time.Time { return testClock }
	}
	if l.MaxSteps > 0 {
		th.SetMaxExecutionSteps(l.MaxSteps)
	}
	Attach(th, l)
	return th
}

// env is what scripts see in these tests: the library and json.
var env = func() sl.StringDict {
	d := sl.StringDict{"json": json.Module}
	for k, v := range Predeclared() {
		d[k] = v
	}
	return d
}()

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// exec runs a script with the library predeclared.
func exec(t testing.TB, l Limits, src string) (sl.StringDict, error) {
	t.Helper()
	return sl.ExecFileOptions(fileOptions, newThread(l), "test.star", src, env)
}

// eval returns the str() of an expression, or its error's text.
func eval(t testing.TB, expr string) string {
	t.Helper()
	v, err := sl.EvalOptions(fileOptions, newThread(Limits{}), "expr", expr, env)
	if err != nil {
		return "error: " + err.Error()
	}
	if s, ok := v.(sl.String); ok {
		return string(s)
	}
	return v.String()
}

// check evaluates each expression and compares its str() with want.
func check(t *testing.T, cases [][2]string) {
	t.Helper()
	for _, c := range cases {
		if got := eval(t, c[0]); got != c[1] {
			t.Errorf("%s\n got: %s\nwant: %s", c[0], got, c[1])
		}
	}
}
