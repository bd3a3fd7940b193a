package stdlib

import (
	"testing"

	sl "go.starlark.net/starlark"
)

// bench runs a compiled expression b.N times.
func bench(b *testing.B, expr string) {
	b.Helper()
	th := newThread(Limits{})
	prog, err := sl.ExprFuncOptions(fileOptions, "bench", expr, env)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sl.Call(th, prog, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCatch(b *testing.B)      { bench(b, `catch(len, "abc").value`) }
func BenchmarkCatchError(b *testing.B) { bench(b, `catch(fail, "boom").error`) }
func BenchmarkReSearch(b *testing.B) {
	bench(b, `re.search(r"(?P<user>\w+)@(?P<host>[\w.]+)", "mail jane@example.com now").group("user")`)
}
func BenchmarkDecimal(b *testing.B) {
	bench(b, `(decimal.Decimal("19.99") * 3).quantize(decimal.Decimal("0.01"))`)
}
func BenchmarkHMAC(b *testing.B) { bench(b, `hmac.new("key", "message", "sha256").hexdigest()`) }
func BenchmarkTimeFormat(b *testing.B) {
	bench(b, `time.now("Europe/Warsaw").strftime("%Y-%m-%d %H:%M:%S %z")`)
}
func BenchmarkUUID7(b *testing.B) { bench(b, `uuid.uuid7().str`) }
func BenchmarkXMLFind(b *testing.B) {
	bench(b, `xml.fromstring("<a><b id='1'>x</b><b id='2'>y</b></a>").findtext("b[@id='2']")`)
}
func BenchmarkCSVReader(b *testing.B) { bench(b, `csv.reader("a,b,c\n1,2,3\n4,5,6\n")`) }
