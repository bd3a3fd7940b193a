package stdlib

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// MaxDigits is the most digits a decimal holds; an operation whose exact
// result needs more fails.
const MaxDigits = 1000

// maxExponent bounds a decimal's exponent either way.
const maxExponent = 10 * MaxDigits

// DivisionPrecision is the significant digits of a / b, as in Python's
// default decimal context.
const DivisionPrecision = 28

// Rounding modes, named as in Python's decimal module.
var roundings = []string{
	"ROUND_HALF_EVEN", "ROUND_HALF_UP", "ROUND_HALF_DOWN", "ROUND_UP", "ROUND_DOWN", "ROUND_CEILING", "ROUND_FLOOR", "ROUND_05UP",
}

// decimalModule is decimal: exact decimal arithmetic for money.
func decimalModule() sl.Value {
	m := fns("decimal", map[string]builtinFunc{"Decimal": decimalNew})
	for _, r := range roundings {
		m[r] = sl.String(r)
	}
	return module("decimal", m)
}

// Decimal is an exact decimal number: coef × 10^exp. Values are
// immutable. Sums, differences and products are exact; quotients have
// DivisionPrecision significant digits unless divide says otherwise.
type Decimal struct {
	coef *big.Int
	exp  int
	// neg is the sign of a zero: Python's decimals have -0.
	neg bool
}

// signbit reports whether d is negative, or -0.
func (d Decimal) signbit() bool {
	if s := d.coef.Sign(); s != 0 {
		return s < 0
	}
	return d.neg
}

// signed returns d with the sign of a zero set to neg.
func (d Decimal) signed(neg bool) Decimal {
	if d.coef.Sign() == 0 {
		d.neg = neg
	}
	return d
}

var (
	_ sl.HasBinary  = Decimal{}
	_ sl.HasUnary   = Decimal{}
	_ sl.Comparable = Decimal{}
	_ sl.HasAttrs   = Decimal{}
)

func decimalNew(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value = sl.String("0")
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "value?", &v); err != nil {
		return nil, err
	}
	d, err := toDecimal(thread, b.Name(), v)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// toDecimal converts a decimal, an int, a string or a float (through its
// shortest text, so 0.1 is 0.1).
func toDecimal(thread *sl.Thread, fn string, v sl.Value) (Decimal, error) {
	switch x := v.(type) {
	case Decimal:
		return x, nil
	case sl.Int:
		return Decimal{coef: x.BigInt(), exp: 0}, checkDigits(fn, x.BigInt())
	case sl.String:
		if err := spendBytes(thread, len(x), fn); err != nil {
			return Decimal{}, err
		}
		return parseDecimal(fn, string(x))
	case sl.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Decimal{}, fmt.Errorf("%s: %v is not a number a decimal holds", fn, f)
		}
		return parseDecimal(fn, strconv.FormatFloat(f, 'g', -1, 64))
	case sl.Bool:
		return Decimal{}, fmt.Errorf("%s: got bool, want a str, int or decimal", fn)
	}
	return Decimal{}, fmt.Errorf("%s: got %s, want a str such as \"12.50\", an int or a decimal", fn, v.Type())
}

// ParseDecimal reads a decimal from its text, such as "12.50".
func ParseDecimal(s string) (Decimal, error) { return parseDecimal("decimal", s) }

// parseDecimal reads Python's decimal syntax: a sign, digits with an
// optional point, an optional exponent; spaces around and _ between
// digits are allowed.
func parseDecimal(fn, s string) (Decimal, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	bad := func() (Decimal, error) {
		return Decimal{}, fmt.Errorf("%s: %q is not a decimal number such as \"12.50\" or \"-1E+3\"", fn, s)
	}
	if t == "" {
		return bad()
	}
	neg := false
	if t[0] == '+' || t[0] == '-' {
		neg = t[0] == '-'
		t = t[1:]
	}
	exp := 0
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		e, err := strconv.Atoi(t[i+1:])
		if err != nil || i+1 == len(t) || e > maxExponent || e < -maxExponent {
			if err == nil || strings.Contains(err.Error(), "range") {
				return Decimal{}, fmt.Errorf("%s: %q: the exponent is out of range ±%d", fn, s, maxExponent)
			}
			return bad()
		}
		exp, t = e, t[:i]
	}
	intPart, frac, hasPoint := strings.Cut(t, ".")
	digits := intPart + frac
	if digits == "" || (hasPoint && strings.Contains(frac, ".")) {
		return bad()
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return bad()
		}
	}
	if sig := len(strings.TrimLeft(digits, "0")); sig > MaxDigits {
		return Decimal{}, fmt.Errorf("%s: %q has %d digits; a decimal holds at most %d", fn, s, sig, MaxDigits)
	}
	coef, _ := new(big.Int).SetString(digits, 10)
	if neg {
		coef.Neg(coef)
	}
	return Decimal{coef: coef, exp: exp - len(frac), neg: neg}, nil
}

func checkDigits(fn string, c *big.Int) error {
	if n := numDigits(c); n > MaxDigits {
		return fmt.Errorf("%s: the result has %d digits; a decimal holds at most %d", fn, n, MaxDigits)
	}
	return nil
}

// numDigits counts the decimal digits of |c| (1 for 0).
func numDigits(c *big.Int) int {
	if c.Sign() < 0 {
		return len(c.String()) - 1
	}
	return len(c.String())
}

func pow10(n int) *big.Int {
	if n <= 0 {
		return big.NewInt(1)
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// digitsText is the digits of |coef|.
func (d Decimal) digitsText() string { return new(big.Int).Abs(d.coef).String() }

// String writes d as Python's str(Decimal) does.
func (d Decimal) String() string {
	sign := ""
	if d.signbit() {
		sign = "-"
	}
	digits := d.digitsText()
	left := d.exp + len(digits)
	dot := 1
	if d.exp <= 0 && left > -6 {
		dot = left
	}
	var intPart, frac string
	switch {
	case dot <= 0:
		intPart, frac = "0", "."+strings.Repeat("0", -dot)+digits
	case dot >= len(digits):
		intPart = digits + strings.Repeat("0", dot-len(digits))
	default:
		intPart, frac = digits[:dot], "."+digits[dot:]
	}
	exp := ""
	if left != dot {
		exp = fmt.Sprintf("E%+d", left-dot)
	}
	return sign + intPart + frac + exp
}

func (d Decimal) Type() string   { return "decimal" }
func (d Decimal) Freeze()        {}
func (d Decimal) Truth() sl.Bool { return d.coef.Sign() != 0 }

// Hash is the same for equal decimals of different exponents (1.0, 1.00).
func (d Decimal) Hash() (uint32, error) { return sl.String(d.reduced().signed(false).String()).Hash() }

// MarshalJSON sends a decimal as a JSON number with its digits.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// Export returns the decimal as a json.Number, for payloads.
func (d Decimal) Export() any { return json.Number(d.String()) }

// reduced strips trailing zeros of the coefficient.
func (d Decimal) reduced() Decimal {
	if d.coef.Sign() == 0 {
		return Decimal{coef: new(big.Int), exp: 0, neg: d.neg}
	}
	c, e := new(big.Int).Set(d.coef), d.exp
	ten, r := big.NewInt(10), new(big.Int)
	for {
		q, m := new(big.Int).QuoRem(c, ten, r)
		if m.Sign() != 0 {
			break
		}
		c, e = q, e+1
	}
	return Decimal{coef: c, exp: e}
}

// align returns the coefficients of d and e at their smaller exponent,
// refusing when that needs more than MaxDigits digits.
func align(fn string, d, e Decimal) (*big.Int, *big.Int, int, error) {
	exp := min(d.exp, e.exp)
	top := max(d.exp+numDigits(d.coef), e.exp+numDigits(e.coef))
	if top-exp > MaxDigits+1 {
		return nil, nil, 0, fmt.Errorf("%s: the exact result needs %d digits; a decimal holds at most %d (quantize first)", fn, top-exp, MaxDigits)
	}
	a := new(big.Int).Mul(d.coef, pow10(d.exp-exp))
	b := new(big.Int).Mul(e.coef, pow10(e.exp-exp))
	return a, b, exp, nil
}

func (d Decimal) cmp(e Decimal) int {
	a, b, _, err := align("compare", d, e)
	if err != nil {
		// So far apart that the exponents decide.
		da, db := d.exp+numDigits(d.coef), e.exp+numDigits(e.coef)
		if d.coef.Sign() != e.coef.Sign() {
			return d.coef.Sign() - e.coef.Sign()
		}
		c := 1
		if da < db {
			c = -1
		}
		return c * d.coef.Sign()
	}
	return a.Cmp(b)
}

func (d Decimal) CompareSameType(op syntax.Token, y sl.Value, depth int) (bool, error) {
	return threeway(op, d.cmp(y.(Decimal))), nil
}

func (d Decimal) Unary(op syntax.Token) (sl.Value, error) {
	switch op {
	case syntax.MINUS:
		return Decimal{coef: new(big.Int).Neg(d.coef), exp: d.exp, neg: !d.signbit()}, nil
	case syntax.PLUS:
		return d, nil
	}
	return nil, nil
}

func (d Decimal) Binary(op syntax.Token, y sl.Value, side sl.Side) (sl.Value, error) {
	var e Decimal
	switch x := y.(type) {
	case Decimal:
		e = x
	case sl.Int:
		e = Decimal{coef: x.BigInt()}
	case sl.Float:
		return nil, fmt.Errorf("unsupported operation: decimal %s float: convert the float first, as in decimal.Decimal(str(x)), or the decimal with float(d)", op)
	default:
		return nil, nil
	}
	a, b := d, e
	if side == sl.Right {
		a, b = e, d
	}
	fn := "decimal " + op.String()
	switch op {
	case syntax.PLUS, syntax.MINUS:
		x, y, exp, err := align(fn, a, b)
		if err != nil {
			return nil, err
		}
		if op == syntax.PLUS {
			return Decimal{coef: x.Add(x, y), exp: exp}.signed(a.signbit() && b.signbit()), nil
		}
		return Decimal{coef: x.Sub(x, y), exp: exp}.signed(a.signbit() && !b.signbit()), nil
	case syntax.STAR:
		c := new(big.Int).Mul(a.coef, b.coef)
		if err := checkDigits(fn, c); err != nil {
			return nil, err
		}
		exp := a.exp + b.exp
		if exp > maxExponent || exp < -maxExponent {
			return nil, fmt.Errorf("%s: the exponent of the result is out of range ±%d", fn, maxExponent)
		}
		return Decimal{coef: c, exp: exp}.signed(a.signbit() != b.signbit()), nil
	case syntax.SLASH:
		return divide(fn, a, b, DivisionPrecision, nil, "ROUND_HALF_EVEN")
	case syntax.SLASHSLASH, syntax.PERCENT:
		if b.coef.Sign() == 0 {
			return nil, fmt.Errorf("%s: division by zero", fn)
		}
		x, y, exp, err := align(fn, a, b)
		if err != nil {
			return nil, err
		}
		q, r := new(big.Int).QuoRem(x, y, new(big.Int)) // truncated, as Python's decimal does
		if op == syntax.SLASHSLASH {
			return Decimal{coef: q}.signed(a.signbit() != b.signbit()), nil
		}
		return Decimal{coef: r, exp: exp}.signed(a.signbit()), nil
	}
	return nil, nil
}

// divide returns a / b with prec significant digits, or with places
// decimal places when places is set, rounded by mode; an exact quotient
// keeps the exponent Python's would (1.00 / 2 = 0.50).
func divide(fn string, a, b Decimal, prec int, places *int, mode string) (Decimal, error) {
	d, err := divideAbs(fn, a, b, prec, places, mode)
	if err != nil {
		return Decimal{}, err
	}
	return d.signed(a.signbit() != b.signbit()), nil
}

func divideAbs(fn string, a, b Decimal, prec int, places *int, mode string) (Decimal, error) {
	if b.coef.Sign() == 0 {
		return Decimal{}, fmt.Errorf("%s: division by zero", fn)
	}
	if a.coef.Sign() == 0 {
		if places != nil {
			return Decimal{coef: new(big.Int), exp: -*places}, nil
		}
		return Decimal{coef: new(big.Int), exp: a.exp - b.exp}, nil
	}
	ideal := a.exp - b.exp
	// Scale the dividend so that the integer quotient has enough digits.
	var target int // exponent of the quotient's last digit
	if places != nil {
		target = -*places
	} else {
		lead := a.exp + numDigits(a.coef) - (b.exp + numDigits(b.coef)) // about the quotient's leading exponent
		target = lead - prec - 1
	}
	shift := a.exp - b.exp - target
	num, den := new(big.Int).Set(a.coef), new(big.Int).Set(b.coef)
	if shift >= 0 {
		if shift > 3*MaxDigits {
			return Decimal{}, fmt.Errorf("%s: the quotient needs more than %d digits", fn, MaxDigits)
		}
		num.Mul(num, pow10(shift))
	} else {
		if -shift > 3*MaxDigits {
			return Decimal{}, fmt.Errorf("%s: the quotient needs more than %d digits", fn, MaxDigits)
		}
		den.Mul(den, pow10(-shift))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	exact := r.Sign() == 0
	if places != nil {
		q = roundQuotient(q, r, den, mode)
		if err := checkDigits(fn, q); err != nil {
			return Decimal{}, err
		}
		return Decimal{coef: q, exp: target}, nil
	}
	// Round to prec significant digits.
	res := Decimal{coef: q, exp: target}
	if n := numDigits(q); n > prec {
		drop := n - prec
		res = Decimal{coef: roundDrop(q, drop, mode, !exact), exp: target + drop}
		exact = exact && new(big.Int).Rem(q, pow10(drop)).Sign() == 0
	} else if !exact {
		res = Decimal{coef: roundQuotient(q, r, den, mode), exp: target}
	}
	if exact {
		// Strip zeros down to the ideal exponent.
		red := res.reduced()
		if red.exp < ideal {
			return red, nil
		}
		return Decimal{coef: new(big.Int).Mul(red.coef, pow10(red.exp-ideal)), exp: ideal}, nil
	}
	if numDigits(res.coef) > prec { // rounding carried into a new digit
		res = Decimal{coef: roundDrop(res.coef, 1, mode, false), exp: res.exp + 1}
	}
	return res, nil
}

// roundQuotient rounds q, the quotient of num/den with remainder r.
func roundQuotient(q, r, den *big.Int, mode string) *big.Int {
	if r.Sign() == 0 {
		return q
	}
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	half := twice.Cmp(new(big.Int).Abs(den)) // <0 below half, 0 half, >0 above
	neg := (r.Sign() < 0) != (den.Sign() < 0)
	return applyRounding(q, neg, half, mode)
}

// roundDrop removes the last drop digits of c, rounding by mode; sticky
// says that nonzero digits were already dropped below them.
func roundDrop(c *big.Int, drop int, mode string, sticky bool) *big.Int {
	p := pow10(drop)
	q, r := new(big.Int).QuoRem(c, p, new(big.Int))
	if r.Sign() == 0 && !sticky {
		return q
	}
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	half := twice.Cmp(p)
	if half == 0 && sticky {
		half = 1
	}
	if r.Sign() == 0 && sticky {
		half = -1
	}
	return applyRounding(q, c.Sign() < 0, half, mode)
}

// applyRounding moves the truncated q (toward zero) away from zero when
// mode says so; half compares the dropped part with one half, and the
// dropped part is not zero.
func applyRounding(q *big.Int, neg bool, half int, mode string) *big.Int {
	away := false
	last := new(big.Int).Abs(new(big.Int).Rem(q, big.NewInt(10))).Int64()
	switch mode {
	case "ROUND_UP":
		away = true
	case "ROUND_DOWN":
	case "ROUND_CEILING":
		away = !neg
	case "ROUND_FLOOR":
		away = neg
	case "ROUND_HALF_UP":
		away = half >= 0
	case "ROUND_HALF_DOWN":
		away = half > 0
	case "ROUND_HALF_EVEN":
		away = half > 0 || half == 0 && last%2 == 1
	case "ROUND_05UP":
		away = last == 0 || last == 5
	}
	if !away {
		return q
	}
	if neg {
		return q.Sub(q, big.NewInt(1))
	}
	return q.Add(q, big.NewInt(1))
}

func rounding(fn string, v sl.Value) (string, error) {
	s, ok := v.(sl.String)
	if !ok {
		return "", fmt.Errorf("%s: rounding: got %s, want one of decimal.ROUND_HALF_EVEN, … ", fn, v.Type())
	}
	for _, r := range roundings {
		if string(s) == r {
			return r, nil
		}
	}
	return "", fmt.Errorf("%s: unknown rounding %q: use one of %s", fn, string(s), strings.Join(roundings, ", "))
}

// quantize returns d with exponent exp, rounded by mode.
func (d Decimal) quantize(fn string, exp int, mode string) (Decimal, error) {
	if exp >= d.exp {
		return Decimal{coef: roundDrop(d.coef, exp-d.exp, mode, false), exp: exp}.signed(d.signbit()), nil
	}
	if d.exp-exp+numDigits(d.coef) > MaxDigits {
		return Decimal{}, fmt.Errorf("%s: the result would have more than %d digits", fn, MaxDigits)
	}
	return Decimal{coef: new(big.Int).Mul(d.coef, pow10(d.exp-exp)), exp: exp}.signed(d.signbit()), nil
}

var decimalAttrs = []string{"adjusted", "compare", "copy_abs", "divide", "is_signed", "is_zero", "normalize", "quantize", "to_integral_value"}

func (d Decimal) AttrNames() []string { return decimalAttrs }

func (d Decimal) Attr(name string) (sl.Value, error) {
	var f func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)
	switch name {
	case "quantize":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var expv sl.Value
			var mode sl.Value = sl.String("ROUND_HALF_EVEN")
			if err := sl.UnpackArgs(fn, args, kwargs, "exp", &expv, "rounding?", &mode); err != nil {
				return nil, err
			}
			e, err := toDecimal(thread, fn, expv)
			if err != nil {
				return nil, err
			}
			m, err := rounding(fn, mode)
			if err != nil {
				return nil, err
			}
			return d.quantize(fn, e.exp, m)
		}
	case "to_integral_value":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var mode sl.Value = sl.String("ROUND_HALF_EVEN")
			if err := sl.UnpackArgs(fn, args, kwargs, "rounding?", &mode); err != nil {
				return nil, err
			}
			m, err := rounding(fn, mode)
			if err != nil {
				return nil, err
			}
			if d.exp >= 0 {
				return d, nil
			}
			return d.quantize(fn, 0, m)
		}
	case "divide":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var other sl.Value
			var places, prec sl.Value = sl.None, sl.None
			var mode sl.Value = sl.String("ROUND_HALF_EVEN")
			if err := sl.UnpackArgs(fn, args, kwargs, "other", &other, "places?", &places, "prec?", &prec, "rounding?", &mode); err != nil {
				return nil, err
			}
			e, err := toDecimal(thread, fn, other)
			if err != nil {
				return nil, err
			}
			m, err := rounding(fn, mode)
			if err != nil {
				return nil, err
			}
			p := DivisionPrecision
			if prec != sl.None {
				if err := sl.AsInt(prec, &p); err != nil || p < 1 || p > MaxDigits {
					return nil, fmt.Errorf("%s: prec must be an int in 1..%d", fn, MaxDigits)
				}
			}
			var pl *int
			if places != sl.None {
				var n int
				if err := sl.AsInt(places, &n); err != nil || n < -MaxDigits || n > MaxDigits {
					return nil, fmt.Errorf("%s: places must be an int in -%d..%d", fn, MaxDigits, MaxDigits)
				}
				pl = &n
			}
			return divide(fn, d, e, p, pl, m)
		}
	case "compare":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var other sl.Value
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &other); err != nil {
				return nil, err
			}
			e, err := toDecimal(thread, fn, other)
			if err != nil {
				return nil, err
			}
			return sl.MakeInt(d.cmp(e)), nil
		}
	case "normalize":
		f = noArgs(func() sl.Value { return d.reduced() })
	case "is_zero":
		f = noArgs(func() sl.Value { return sl.Bool(d.coef.Sign() == 0) })
	case "is_signed":
		f = noArgs(func() sl.Value { return sl.Bool(d.signbit()) })
	case "copy_abs":
		f = noArgs(func() sl.Value { return Decimal{coef: new(big.Int).Abs(d.coef), exp: d.exp} })
	case "adjusted":
		f = noArgs(func() sl.Value { return sl.MakeInt(d.exp + numDigits(d.coef) - 1) })
	default:
		return nil, nil
	}
	return sl.NewBuiltin("Decimal."+name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return f(thread, b.Name(), args, kwargs)
	}), nil
}

func noArgs(v func() sl.Value) func(*sl.Thread, string, sl.Tuple, []sl.Tuple) (sl.Value, error) {
	return func(_ *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		return v(), nil
	}
}

// float returns the nearest float.
func (d Decimal) float() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// integer truncates toward zero, as Python's int(Decimal) does.
func (d Decimal) integer() *big.Int {
	if d.exp >= 0 {
		return new(big.Int).Mul(d.coef, pow10(d.exp))
	}
	return new(big.Int).Quo(d.coef, pow10(-d.exp))
}
