package stdlib

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"

	sl "go.starlark.net/starlark"
)

// maxToken is the most random bytes one token call makes.
const maxToken = 1 << 16

// randomModule is random, drawn from the operating system's secure
// generator (crypto/rand): there is no seed, and every value is fit for
// tokens and keys.
func randomModule() sl.Value {
	return module("random", fns("random", map[string]builtinFunc{
		"random":        randomFloat,
		"uniform":       randomUniform,
		"randint":       randomRandint,
		"randrange":     randomRandrange,
		"choice":        randomChoice,
		"shuffle":       randomShuffle,
		"sample":        randomSample,
		"token_hex":     tokenHex,
		"token_urlsafe": tokenURLSafe,
		"token_bytes":   tokenBytes,
		"getrandbits":   randomBits,
	}))
}

// secretsModule is secrets, Python's module of the same functions.
func secretsModule() sl.Value {
	return module("secrets", fns("secrets", map[string]builtinFunc{
		"token_hex":      tokenHex,
		"token_urlsafe":  tokenURLSafe,
		"token_bytes":    tokenBytes,
		"choice":         randomChoice,
		"randbelow":      randomBelow,
		"randbits":       randomBits,
		"compare_digest": compareDigest,
	}))
}

// below returns a uniform random integer in [0, n), n > 0.
func below(n *big.Int) *big.Int {
	r, err := rand.Int(rand.Reader, n)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return r
}

func belowInt(n int) int { return int(below(big.NewInt(int64(n))).Int64()) }

func randomFloat(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return sl.Float(unitFloat()), nil
}

// unitFloat is uniform in [0, 1) with 53 bits.
func unitFloat() float64 {
	var buf [8]byte
	rand.Read(buf[:])
	return float64(binary.BigEndian.Uint64(buf[:])>>11) / (1 << 53)
}

func randomUniform(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var av, cv sl.Value
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "a", &av, "b", &cv); err != nil {
		return nil, err
	}
	a, ok1 := sl.AsFloat(av)
	c, ok2 := sl.AsFloat(cv)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: want numbers, got %s and %s", b.Name(), av.Type(), cv.Type())
	}
	return sl.Float(a + (c-a)*unitFloat()), nil
}

func randomRandint(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var lo, hi sl.Int
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "a", &lo, "b", &hi); err != nil {
		return nil, err
	}
	span := new(big.Int).Sub(hi.BigInt(), lo.BigInt())
	if span.Sign() < 0 {
		return nil, fmt.Errorf("%s: empty range: %s > %s", b.Name(), lo, hi)
	}
	span.Add(span, big.NewInt(1))
	return sl.MakeBigInt(new(big.Int).Add(lo.BigInt(), below(span))), nil
}

func randomRandrange(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var start, stop sl.Value = nil, sl.None
	step := 1
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "start", &start, "stop?", &stop, "step?", &step); err != nil {
		return nil, err
	}
	var lo, hi int
	if stop == sl.None {
		if err := sl.AsInt(start, &hi); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	} else {
		if err := sl.AsInt(start, &lo); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if err := sl.AsInt(stop, &hi); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	if step == 0 {
		return nil, fmt.Errorf("%s: zero step", b.Name())
	}
	n := (hi - lo + step - sign(step)) / step
	if n <= 0 {
		return nil, fmt.Errorf("%s: empty range (%d, %d, %d)", b.Name(), lo, hi, step)
	}
	return sl.MakeInt(lo + step*belowInt(n)), nil
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}

func randomBelow(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var n sl.Int
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &n); err != nil {
		return nil, err
	}
	if n.Sign() <= 0 {
		return nil, fmt.Errorf("%s: upper bound must be positive", b.Name())
	}
	return sl.MakeBigInt(below(n.BigInt())), nil
}

func randomBits(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var k int
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k); err != nil {
		return nil, err
	}
	if k < 0 || k > maxToken*8 {
		return nil, fmt.Errorf("%s: number of bits must be in 0..%d", b.Name(), maxToken*8)
	}
	if k == 0 {
		return sl.MakeInt(0), nil
	}
	return sl.MakeBigInt(below(new(big.Int).Lsh(big.NewInt(1), uint(k)))), nil
}

// sequence returns the elements of an indexable value.
func sequence(fn string, v sl.Value) (sl.Indexable, error) {
	seq, ok := v.(sl.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a list, tuple or str", fn, v.Type())
	}
	return seq, nil
}

func randomChoice(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	if s, ok := v.(sl.String); ok {
		if len(s) == 0 {
			return nil, fmt.Errorf("%s: cannot choose from an empty sequence", b.Name())
		}
		runes := []rune(string(s))
		return sl.String(string(runes[belowInt(len(runes))])), nil
	}
	seq, err := sequence(b.Name(), v)
	if err != nil {
		return nil, err
	}
	if seq.Len() == 0 {
		return nil, fmt.Errorf("%s: cannot choose from an empty sequence", b.Name())
	}
	return seq.Index(belowInt(seq.Len())), nil
}

// randomShuffle shuffles a list in place (Fisher-Yates).
func randomShuffle(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var l *sl.List
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
		return nil, err
	}
	if err := spend(thread, uint64(l.Len()), b.Name()); err != nil {
		return nil, err
	}
	for i := l.Len() - 1; i > 0; i-- {
		j := belowInt(i + 1)
		a, c := l.Index(i), l.Index(j)
		if err := l.SetIndex(i, c); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		l.SetIndex(j, a)
	}
	return sl.None, nil
}

func randomSample(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value
	var k int
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "population", &v, "k", &k); err != nil {
		return nil, err
	}
	seq, err := sequence(b.Name(), v)
	if err != nil {
		return nil, err
	}
	n := seq.Len()
	if k < 0 || k > n {
		return nil, fmt.Errorf("%s: sample larger than population or is negative", b.Name())
	}
	if err := spend(thread, uint64(n), b.Name()); err != nil {
		return nil, err
	}
	if err := charge(thread, listBytes(k)+int64(n)*8, b.Name()); err != nil {
		return nil, err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	out := make([]sl.Value, k)
	for i := 0; i < k; i++ {
		j := i + belowInt(n-i)
		idx[i], idx[j] = idx[j], idx[i]
		out[i] = seq.Index(idx[i])
	}
	return sl.NewList(out), nil
}

// tokenSize reads the optional byte count of a token (default 32).
func tokenSize(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) ([]byte, error) {
	var nv sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "nbytes?", &nv); err != nil {
		return nil, err
	}
	n := 32
	if nv != sl.None {
		if err := sl.AsInt(nv, &n); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	if n < 0 || n > maxToken {
		return nil, fmt.Errorf("%s: nbytes must be in 0..%d", b.Name(), maxToken)
	}
	if err := charge(thread, textBytes(2*n), b.Name()); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	rand.Read(buf)
	return buf, nil
}

func tokenHex(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	buf, err := tokenSize(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return sl.String(hex.EncodeToString(buf)), nil
}

func tokenURLSafe(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	buf, err := tokenSize(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return sl.String(base64.RawURLEncoding.EncodeToString(buf)), nil
}

func tokenBytes(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	buf, err := tokenSize(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return sl.Bytes(buf), nil
}
