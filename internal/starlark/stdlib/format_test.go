package stdlib

import "testing"

// format against Python's format (the results were made with it).
func TestFormat(t *testing.T) {
	check(t, [][2]string{
		{`format(3.14159, ".2f")`, "3.14"},
		{`format(1234567, ",")`, "1,234,567"},
		{`format(1234567.891, ",.2f")`, "1,234,567.89"},
		{`format("x", ">5")`, "    x"},
		{`format("x", "<5")`, "x    "},
		{`format("x", "^5")`, "  x  "},
		{`format("abc", ".2")`, "ab"},
		{`format(42, "08d")`, "00000042"},
		{`format(-42, "08d")`, "-0000042"},
		{`format(42, "+d")`, "+42"},
		{`format(42, " d")`, " 42"},
		{`format(255, "x")`, "ff"},
		{`format(255, "#x")`, "0xff"},
		{`format(255, "#X")`, "0XFF"},
		{`format(255, "b")`, "11111111"},
		{`format(255, "#o")`, "0o377"},
		{`format(0.125, ".1%")`, "12.5%"},
		{`format(1e-07, "g")`, "1e-07"},
		{`format(123456789.0, "g")`, "1.23457e+08"},
		{`format(1.5, "e")`, "1.500000e+00"},
		{`format(2.5, ".0f")`, "2"},
		{`format(3.5, ".0f")`, "4"},
		{`format(-0.0, ".1f")`, "-0.0"},
		{`format(float("inf"), "f")`, "inf"},
		{`format(decimal.Decimal("2.675"), ".2f")`, "2.68"},
		{`format(decimal.Decimal("1234.5"), ",.2f")`, "1,234.50"},
		{`format(decimal.Decimal("-0.005"), ".2f")`, "-0.00"},
		{`format(decimal.Decimal("1E+3"), "f")`, "1000"},
		{`format(decimal.Decimal("12.5"), "")`, "12.5"},
		{`format(7, "*^9")`, "****7****"},
		{`format(1.0, "")`, "1.0"},
		{`format(1.5, ".3")`, "1.5"},
		{`format(True, "")`, "True"},
		{`format(True, "d")`, "1"},
		{`format(None, "")`, "None"},
		{`format(100000000000000000000, ",")`, "100,000,000,000,000,000,000"},
		{`format(0.1, "")`, "0.1"},
		{`format("x", "d")`, `error: format: format spec "d" does not apply to a string`},
		{`format(1, "q")`, `error: format: unknown format code 'q' for an int`},
		{`format(1, ".")`, `error: format: invalid format spec "."`},
	})
}
