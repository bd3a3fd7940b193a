package stdlib

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	sl "go.starlark.net/starlark"
)

// formatSpec is a parsed Python format spec:
// [[fill]align][sign][z][#][0][width][grouping][.precision][type].
type formatSpec struct {
	fill      rune
	align     byte
	sign      byte
	alt       bool
	zero      bool
	width     int
	grouping  byte
	precision int // -1: none
	typ       byte
}

func parseSpec(s string) (formatSpec, error) {
	f := formatSpec{fill: ' ', precision: -1}
	bad := func() (formatSpec, error) { return f, fmt.Errorf("invalid format spec %q", s) }
	i := 0
	if r, n := utf8.DecodeRuneInString(s); n > 0 && n < len(s) && strings.IndexByte("<>=^", s[n]) >= 0 {
		f.fill, f.align, i = r, s[n], n+1
	} else if len(s) > 0 && strings.IndexByte("<>=^", s[0]) >= 0 {
		f.align, i = s[0], 1
	}
	if i < len(s) && strings.IndexByte("+- ", s[i]) >= 0 {
		f.sign = s[i]
		i++
	}
	if i < len(s) && s[i] == 'z' {
		i++
	}
	if i < len(s) && s[i] == '#' {
		f.alt = true
		i++
	}
	if i < len(s) && s[i] == '0' {
		f.zero = true
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > start {
		w, err := strconv.Atoi(s[start:i])
		if err != nil || w > 1<<16 {
			return bad()
		}
		f.width = w
	}
	if i < len(s) && (s[i] == ',' || s[i] == '_') {
		f.grouping = s[i]
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return bad()
		}
		p, err := strconv.Atoi(s[start:i])
		if err != nil || p > 1<<10 {
			return bad()
		}
		f.precision = p
	}
	if i < len(s) {
		f.typ = s[i]
		i++
	}
	if i != len(s) {
		return bad()
	}
	if f.zero && f.align == 0 {
		f.fill, f.align = '0', '='
	}
	return f, nil
}

// format is Python's format(value, spec): format(3.14159, ".2f") is
// "3.14", format(1234567, ",") is "1,234,567", format("x", ">5") is
// "    x".
func format(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value
	spec := ""
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v, &spec); err != nil {
		return nil, err
	}
	s, err := formatValue(v, spec)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return sl.String(s), charge(thread, textBytes(len(s)), "format")
}

func formatValue(v sl.Value, spec string) (string, error) {
	f, err := parseSpec(spec)
	if err != nil {
		return "", err
	}
	var body, sign string
	numeric := true
	switch x := v.(type) {
	case sl.String:
		if f.typ != 0 && f.typ != 's' || f.sign != 0 || f.grouping != 0 || f.align == '=' {
			return "", fmt.Errorf("format spec %q does not apply to a string", spec)
		}
		body, numeric = string(x), false
		if f.precision >= 0 && utf8.RuneCountInString(body) > f.precision {
			body = string([]rune(body)[:f.precision])
		}
	case sl.Bool:
		if f.typ == 0 || f.typ == 's' {
			body, numeric = x.String(), false
			break
		}
		n := 0
		if x {
			n = 1
		}
		return formatValue(sl.MakeInt(n), spec)
	case sl.Int:
		sign, body, err = formatInt(x.BigInt(), f)
	case sl.Float:
		sign, body, err = formatFloat(float64(x), f)
	case Decimal:
		sign, body, err = formatDecimal(x, f)
	case sl.NoneType:
		if spec != "" {
			return "", fmt.Errorf("format spec %q does not apply to None", spec)
		}
		return "None", nil
	default:
		if spec != "" {
			return "", fmt.Errorf("format spec %q does not apply to a %s", spec, v.Type())
		}
		return v.String(), nil
	}
	if err != nil {
		return "", err
	}
	if numeric && f.grouping != 0 {
		body = group(body, f.grouping)
	}
	return pad(sign, body, f, numeric), nil
}

func signOf(neg bool, f formatSpec) string {
	switch {
	case neg:
		return "-"
	case f.sign == '+':
		return "+"
	case f.sign == ' ':
		return " "
	}
	return ""
}

func formatInt(n *big.Int, f formatSpec) (string, string, error) {
	neg := n.Sign() < 0
	abs := new(big.Int).Abs(n)
	switch f.typ {
	case 0, 'd', 'n':
		return signOf(neg, f), abs.String(), nil
	case 'b', 'o', 'x', 'X':
		base := map[byte]int{'b': 2, 'o': 8, 'x': 16, 'X': 16}[f.typ]
		s := abs.Text(base)
		if f.typ == 'X' {
			s = strings.ToUpper(s)
		}
		if f.alt {
			s = "0" + string(f.typ) + s
		}
		return signOf(neg, f), s, nil
	case 'c':
		if !n.IsInt64() || n.Int64() < 0 || n.Int64() > utf8.MaxRune {
			return "", "", fmt.Errorf("%%c arg not in range(0x110000)")
		}
		return "", string(rune(n.Int64())), nil
	case 'e', 'E', 'f', 'F', 'g', 'G', '%':
		fl, _ := new(big.Float).SetInt(n).Float64()
		return formatFloat(fl, f)
	}
	return "", "", fmt.Errorf("unknown format code %q for an int", f.typ)
}

func formatFloat(x float64, f formatSpec) (string, string, error) {
	neg := math.Signbit(x) && !math.IsNaN(x)
	a := math.Abs(x)
	prec := f.precision
	var s string
	switch f.typ {
	case 0:
		if prec < 0 {
			s = sl.Float(a).String()
		} else {
			s = strconv.FormatFloat(a, 'g', max(prec, 1), 64)
			if !strings.ContainsAny(s, ".e") && !math.IsInf(a, 0) && !math.IsNaN(a) {
				s += ".0"
			}
		}
	case 'f', 'F':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(a, 'f', prec, 64)
	case 'e', 'E':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(a, 'e', prec, 64)
	case 'g', 'G', 'n':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(a, 'g', max(prec, 1), 64)
	case '%':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(a*100, 'f', prec, 64) + "%"
	default:
		return "", "", fmt.Errorf("unknown format code %q for a float", f.typ)
	}
	if f.alt && !strings.Contains(s, ".") && f.typ != '%' {
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			s = s[:i] + "." + s[i:]
		} else {
			s += "."
		}
	}
	s = strings.NewReplacer("+Inf", "inf", "Inf", "inf", "NaN", "nan").Replace(s)
	if f.typ == 'E' || f.typ == 'G' || f.typ == 'F' {
		s = strings.ToUpper(s)
	}
	return signOf(neg, f), s, nil
}

func formatDecimal(d Decimal, f formatSpec) (string, string, error) {
	neg := d.signbit()
	a := Decimal{coef: new(big.Int).Abs(d.coef), exp: d.exp}
	switch f.typ {
	case 0:
		if f.precision < 0 {
			return signOf(neg, f), a.String(), nil
		}
		fl := a.float()
		return formatFloat(math.Copysign(fl, map[bool]float64{true: -1, false: 1}[neg]), formatSpec{precision: f.precision, typ: 'g', sign: f.sign})
	case 'f', 'F', '%':
		if f.typ == '%' {
			a = Decimal{coef: a.coef, exp: a.exp + 2}
		}
		if f.precision >= 0 {
			q, err := a.quantize("format", -f.precision, "ROUND_HALF_EVEN")
			if err != nil {
				return "", "", err
			}
			a = q
		}
		s := plain(a)
		if f.typ == '%' {
			s += "%"
		}
		return signOf(neg, f), s, nil
	case 'e', 'E', 'g', 'G', 'n':
		return formatFloat(math.Copysign(a.float(), map[bool]float64{true: -1, false: 1}[neg]), f)
	}
	return "", "", fmt.Errorf("unknown format code %q for a decimal", f.typ)
}

// plain writes a decimal without an exponent.
func plain(d Decimal) string {
	digits := d.digitsText()
	if d.exp >= 0 {
		if d.coef.Sign() == 0 {
			return "0"
		}
		return digits + strings.Repeat("0", d.exp)
	}
	frac := -d.exp
	if len(digits) <= frac {
		digits = strings.Repeat("0", frac-len(digits)+1) + digits
	}
	return digits[:len(digits)-frac] + "." + digits[len(digits)-frac:]
}

// group inserts a separator every three digits of the integer part (four
// for the binary, octal and hex forms with _).
func group(body string, sep byte) string {
	end := strings.IndexAny(body, ".eE%")
	if end < 0 {
		end = len(body)
	}
	intPart, rest := body[:end], body[end:]
	prefix := ""
	if len(intPart) > 2 && intPart[0] == '0' && strings.IndexByte("bBoOxX", intPart[1]) >= 0 {
		prefix, intPart = intPart[:2], intPart[2:]
	}
	every := 3
	if prefix != "" {
		every = 4
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%every == 0 {
			b.WriteByte(sep)
		}
		b.WriteRune(c)
	}
	return prefix + b.String() + rest
}

// pad aligns the sign and body in the spec's width.
func pad(sign, body string, f formatSpec, numeric bool) string {
	n := utf8.RuneCountInString(sign) + utf8.RuneCountInString(body)
	if n >= f.width {
		return sign + body
	}
	fill := strings.Repeat(string(f.fill), f.width-n)
	align := f.align
	if align == 0 {
		align = '<'
		if numeric {
			align = '>'
		}
	}
	switch align {
	case '>':
		return fill + sign + body
	case '=':
		return sign + fill + body
	case '^':
		left := (f.width - n) / 2
		return strings.Repeat(string(f.fill), left) + sign + body + strings.Repeat(string(f.fill), f.width-n-left)
	}
	return sign + body + fill
}
