package memlimit

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.starlark.net/lib/json"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// run loads src as a module, rewritten with an allowance of max bytes, or
// as Starlark runs it when max is 0.
func run(src string, max int64) (sl.StringDict, error) {
	f, err := fileOptions.Parse("t.star", src, 0)
	if err != nil {
		return nil, err
	}
	pre := sl.StringDict{"json": json.Module, "struct": sl.NewBuiltin("struct", starlarkstruct.Make)}
	thread := &sl.Thread{Print: func(*sl.Thread, string) {}}
	if max > 0 {
		Rewrite(f)
		for k, v := range Predeclared() {
			pre[k] = v
		}
		a := New(max)
		Attach(thread, a)
		a.Watch(thread, 100_000_000)
	}
	prog, err := sl.FileProgram(f, pre.Has)
	if err != nil {
		return nil, err
	}
	return prog.Init(thread, pre)
}

// outcome is what a module gives: its globals, or its error with the
// position where it happened.
func outcome(g sl.StringDict, err error) string {
	if err != nil {
		var ee *sl.EvalError
		if errors.As(err, &ee) {
			pos := ""
			for i := len(ee.CallStack) - 1; i >= 0; i-- {
				if ee.CallStack[i].Pos.Filename() == "t.star" {
					pos = ee.CallStack[i].Pos.String()
					break
				}
			}
			return "error at " + pos + ": " + ee.Msg
		}
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, k := range g.Keys() {
		if _, isFn := g[k].(*sl.Function); isFn {
			continue
		}
		fmt.Fprintf(&b, "%s = %s\n", k, g[k])
	}
	return b.String()
}

// Rewritten code means what it meant: the same values, the same errors at
// the same positions.
func TestRewriteKeepsMeaning(t *testing.T) {
	for _, src := range []string{
		`a = 1 + 2 * 3 - 4 // 2 % 3; b = 7 / 2; c = -a; d = +a; e = ~a; f = 1 << 10; g = f >> 3; h = 6 & 3 | 8 ^ 1`,
		`a = "x" + "y"; b = "ab" * 3; c = 3 * [1, 2]; d = (1,) * 2 + (3,); e = b"ab" + b"c"; f = "%s-%d-%r" % ("a", 5, "q")`,
		`a = "%(x)s and %(y)s" % {"x": 1, "y": [2]}; b = "{} {name} {0}".format(1, name="n"); c = "a,b,,c".split(","); d = "  a b  ".split()`,
		`a = "-".join(["x", "y", "z"]); b = "hello".replace("l", "LL"); c = "Ab".upper() + "Ab".lower() + "ab cd".title() + "ab".capitalize()`,
		`a = "x\ny\r\nz".splitlines(); b = "a b c".rsplit(" ", 1)`,
		`l = [3, 1, 2]; m = l; l += [4]; l.append(5); l.extend((6, 7)); l.insert(0, 0); n = sorted(l); o = list(reversed(l)); p = l[1:4] + l[::2] + l[::-1] + l[-2:] + l[5:1:-2]`,
		`s = "abcdef"; a = s[1:3] + s[::-1] + s[-2:] + s[:100] + s[4:1] + s[::3]; t = (1, 2, 3)[1:]; b = b"xyz"[1:]`,
		`d = {"a": 1}; e = d; d |= {"b": 2}; d["c"] = 3; d["a"] += 10; f = d | {"z": 0}; g = d.items(); h = d.keys() + d.values(); d.update(x=1); i = d.setdefault("q", [])`,
		`s = set([1, 2]); s.add(3); t = s | set([4]); u = s & set([1]); v = s - set([1]); w = s ^ set([9]); x = s.union([7]); s.update([8])`,
		`a = [x * 2 for x in range(5) if x % 2 == 0]; b = {k: v + 1 for k, v in {"a": 1}.items()}; c = [[y for y in range(x)] for x in range(3)]`,
		`a = list(range(4)); b = tuple("ab".elems()); c = dict([("a", 1)], b=2); d = zip([1, 2], "ab"); e = enumerate(["x"], 1); f = str(a) + repr("q") + str(1.5)`,
		`a = json.encode({"k": [1, "two", None]}); b = json.decode('{"z": 1, "a": [1.5, "x", true, null]}'); c = json.encode_indent([1, {"a": 2}]); d = json.indent('[1,2]')`,
		`a = json.decode("[1,", default = "dflt"); b = struct(x = 1, y = "z"); c = int("123456789012345678901234567890"); d = abs(-5); e = bytes("hé")`,
		`x = 1 << 100; y = x * x + x - 1; z = y // 7 % 1000; w = -y; v = x | 1; u = x & 0xff`,
		`def f(n):
    if n == 0:
        return []
    return f(n - 1) + [n]
a = f(50)
b = (lambda x, y = [1] * 2: x + y)([0])`,
		`class_ = {"a": {"b": [1, 2]}}; class_["a"]["b"][0] += 5; class_["a"]["b"] += [3]`,
		`a = [1, 2]; a[0] = a[1] + 1; b, c = a; [d, e] = a; f = {}; f[1], f[2] = 3, 4`,
		`x = 1 + "a"`,
		`x = [1] * "a"`,
		`x = "abc"[1:"x"]`,
		`x = "%d" % "notint"`,
		`x = {}; x[[1]] = 2`,
		`x = {"a": 1, "a": 2}`,
		`x = "a".join([1])`,
		`x = [1]; x.foo(2)`,
		`x = len(1)`,
		`x = 1 // 0`,
		`x = -"a"`,
		`x = (1, 2); x += 3`,
		`x = [1].append(1, 2)`,
		`x = {}.update(1)`,
		`def f():
    return 1 + None
y = f()`,
		`x = [1, 2]
def f():
    x.append(3)
f()
y = x`,
	} {
		want := outcome(run(src, 0))
		got := outcome(run(src, 1<<30))
		if got != want {
			t.Errorf("%s\n got: %s\nwant: %s", src, got, want)
		}
	}
}

// Each operation that can make a large value is refused before it makes
// it, with an error naming the limit.
func TestGrowingOperationsRefused(t *testing.T) {
	const max = 1 << 20
	for _, src := range []string{
		`x = "a" * 2000000`,
		`x = 2000000 * "a"`,
		`x = b"a" * 2000000`,
		`x = [0] * 100000`,
		`x = (0,) * 100000`,
		`s = "a" * 1000
for i in range(20):
    s = s + s`,
		`s = "a" * 1000
for i in range(20):
    s += s`,
		`l = [0] * 1000
for i in range(20):
    l += l`,
		`l = [0] * 1000
for i in range(20):
    l = l + l`,
		`t = (0,) * 1000
for i in range(20):
    t = t + t`,
		`x = 1 << 500
for i in range(20):
    x = x * x`,
		`x = "a" * 500000
y = "%s%s%s" % (x, x, x)`,
		`x = "a" * 500000
y = "{}{}{}".format(x, x, x)`,
		`x = "a" * 500000
y = "-".join([x, x, x])`,
		`x = "a" * 500000
y = x.replace("a", "bb")`,
		`x = "a " * 200000
y = x.split(" ")`,
		`x = "a" * 800000
y = x.upper()`,
		`x = list(range(100000))`,
		`x = tuple(range(100000))`,
		`x = sorted(range(100000))`,
		`x = set(range(20000))`,
		`x = dict([(i, i) for i in range(20000)])`,
		`x = zip(range(100000), range(100000))`,
		`x = enumerate(range(100000))`,
		`x = [i for i in range(100000)]`,
		`x = {i: i for i in range(20000)}`,
		`d = {}
for i in range(20000):
    d[i] = i`,
		`l = []
for i in range(100000):
    l.append(i)`,
		`l = []
for i in range(10000):
    l.extend(range(10))`,
		`s = set()
for i in range(20000):
    s.add(i)`,
		`l = []
for i in range(10000):
    l.append({})`,
		`l = []
for i in range(30000):
    l.append([i])`,
		`big = list(range(1000))
keep = []
for i in range(1000):
    keep.append(big[:])`,
		`big = "a" * 10000
keep = []
for i in range(1000):
    keep.append(big[::-1])`,
		`a = ["x" * 1000] * 100
b = [a] * 100
c = str(b)`,
		`a = ["x" * 1000] * 100
b = [a] * 100
c = repr(b)`,
		`a = ["x" * 1000] * 100
b = [a] * 100
c = json.encode(b)`,
		`a = ["x" * 1000] * 100
b = [a] * 100
c = "%s" % (b,)`,
		`a = ["x" * 1000] * 100
b = [a] * 100
print(b)`,
		`x = json.decode("[" + ",".join(["{}"] * 20000) + "]")`,
		`d = {i: i for i in range(5000)}
x = []
for i in range(20):
    x.append(d.items())`,
		`def f(n):
    return f(n + 1)
f(0)`,
		// Arithmetic left to the interpreter stays small: ints that double,
		// names that may not be ints, loops over something else than range.
		`x = 1
for i in range(100000):
    x = x + x`,
		`a = 1
b = 1
for i in range(100000):
    a = b + b
    b = a + a`,
		`def range(n):
    return ["a" * 1000] * n
for i in range(3):
    x = i * 10000000`,
		`for i in range(3):
    i = "a"
    x = i * 10000000`,
		`for i in range(3):
    pass
x = [i * 10000000 for i in ["a"]]`,
		`def f(i):
    return i * 10000000
for i in range(3):
    x = f("a")`,
		`for i in range(3):
    f = lambda i: i * 10000000
    x = f("a")`,
	} {
		var err error
		allocated := allocs(func() { _, err = run(src, max) })
		var ee *ExceededError
		if !errors.As(err, &ee) && !strings.Contains(fmt.Sprint(err), "starlark.max_memory (1MiB) exceeded") {
			t.Errorf("%s\n: %v, want the allowance exceeded", src, err)
			continue
		}
		if allocated > 16*max {
			t.Errorf("%s\n: refused after allocating %d bytes", src, allocated)
		}
	}
}

func allocs(fn func()) int64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// The error says which limit was exceeded, by what, and where.
func TestExceededMessage(t *testing.T) {
	_, err := run("x = 1\ny = \"a\" * 1000000000\n", 64<<20)
	var ee *sl.EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("%v", err)
	}
	want := "Traceback (most recent call last):\n  t.star:2:9: in <toplevel>\nError in *: starlark.max_memory (64MiB) exceeded: a string of length 1 repeated 1000000000 times needs 953.7MiB more, with 0B used"
	if ee.Backtrace() != want {
		t.Errorf("got\n%s\nwant\n%s", ee.Backtrace(), want)
	}
}

// A nil allowance is unlimited; an allowance counts what it charged.
func TestAllowance(t *testing.T) {
	var unlimited *Allowance
	if err := unlimited.Charge(1<<60, "x"); err != nil {
		t.Error(err)
	}
	a := New(100)
	if err := a.Charge(60, "x"); err != nil {
		t.Fatal(err)
	}
	if err := a.Charge(41, "y"); err == nil || a.Used() != 60 || a.Left() != 40 {
		t.Errorf("over: %v, used %d", err, a.Used())
	}
}

func TestSliceLen(t *testing.T) {
	x := sl.NewList([]sl.Value{sl.MakeInt(0), sl.MakeInt(1), sl.MakeInt(2), sl.MakeInt(3), sl.MakeInt(4), sl.MakeInt(5), sl.MakeInt(6)})
	n := sl.None
	i := func(v int) sl.Value { return sl.MakeInt(v) }
	for _, c := range [][3]sl.Value{
		{n, n, n}, {i(1), i(3), n}, {n, n, i(2)}, {n, n, i(-1)}, {i(-2), n, n}, {i(5), i(1), i(-2)}, {i(10), n, i(-3)},
		{i(-100), i(100), n}, {i(3), i(3), n}, {n, i(-1), i(-1)}, {i(0), i(-8), i(-1)}, {i(6), i(-9), i(-4)},
	} {
		v, err := sl.Call(&sl.Thread{}, sl.Universe["list"], sl.Tuple{x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := slicedLen(v, c)
		if err != nil {
			t.Fatal(err)
		}
		if want := sliceLen(7, c[0], c[1], c[2]); want != got {
			t.Errorf("[%v:%v:%v]: estimated %d, slice has %d", c[0], c[1], c[2], want, got)
		}
	}
}

// slicedLen slices x with Starlark itself.
func slicedLen(x sl.Value, c [3]sl.Value) (int64, error) {
	g, err := run(fmt.Sprintf("y = %s[%s:%s:%s]", x, bound(c[0]), bound(c[1]), bound(c[2])), 0)
	if err != nil {
		return 0, err
	}
	return int64(g["y"].(*sl.List).Len()), nil
}

func bound(v sl.Value) string {
	if v == sl.None {
		return ""
	}
	return v.String()
}

// Arithmetic on ints that cannot grow large is left to the interpreter.
func TestBoundedArithmeticLeftAlone(t *testing.T) {
	for src, want := range map[string]int{
		"def f(n):\n    total = 0\n    for i in range(n):\n        total += i * 3 + 7\n        j = i % 2 + 1\n    return total\n": 0,
		"count = 0\nfor i in range(10):\n    count += 1\n":                                                                        0,
		"def f(x):\n    return x + 1\n":               1,
		"x = 1\nfor i in range(10):\n    x = x * 2\n": 1,
	} {
		f, err := fileOptions.Parse("t.star", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		Rewrite(f)
		checked := 0
		syntax.Walk(f, func(n syntax.Node) bool {
			if c, ok := n.(*syntax.CallExpr); ok {
				if id, ok := c.Fn.(*syntax.Ident); ok && strings.HasPrefix(id.Name, prefixBinary) {
					checked++
				}
			}
			return true
		})
		if checked != want {
			t.Errorf("%s: %d checked operations, want %d", src, checked, want)
		}
	}
}
