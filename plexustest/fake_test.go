package plexustest_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeT stands in for a test: it records failures instead of failing.
// It hands the rest to the real test it embeds, or, in examples, where
// there is none, keeps cleanups and temporary directories itself.
type fakeT struct {
	testing.TB // nil in examples
	mu         sync.Mutex
	failed     bool
	out        strings.Builder
	cleanups   []func()
}

// fatal is what Fatalf panics with, and run recovers.
type fatal struct{}

// run runs f as a test's body, then the cleanups it registered.
func (f *fakeT) run(body func(t testing.TB)) {
	defer func() {
		for _, c := range slices.Backward(f.cleanups) {
			c()
		}
	}()
	defer func() {
		if v := recover(); v != nil && v != (fatal{}) {
			panic(v)
		}
	}()
	body(f)
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	fmt.Fprintf(&f.out, format+"\n", args...)
}

func (f *fakeT) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }

func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	panic(fatal{})
}

func (f *fakeT) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeT) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(&f.out, format+"\n", args...)
}

func (f *fakeT) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *fakeT) Cleanup(c func()) {
	if f.TB != nil {
		f.TB.Cleanup(c)
		return
	}
	f.cleanups = append(f.cleanups, c)
}

func (f *fakeT) TempDir() string {
	if f.TB != nil {
		return f.TB.TempDir()
	}
	dir, err := os.MkdirTemp("", "plexustest-example-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// test runs an example's body as a test would, and prints what the test
// reported, or PASS.
func test(body func(t testing.TB)) {
	f := &fakeT{}
	f.run(body)
	if f.Failed() {
		fmt.Print(f.out.String())
		return
	}
	fmt.Println("PASS")
}
