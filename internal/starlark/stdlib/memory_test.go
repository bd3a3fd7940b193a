package stdlib

import (
	"errors"
	"strings"
	"testing"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
)

// execMem runs a script with a memory allowance of max bytes.
func execMem(t *testing.T, max int64, src string) error {
	t.Helper()
	th := newThread(Limits{})
	memlimit.Attach(th, memlimit.New(max))
	_, err := sl.ExecFileOptions(fileOptions, th, "test.star", src, env)
	return err
}

// What the library makes counts against starlark.max_memory: results
// past the allowance are refused with an error naming the setting, and
// catch does not catch it.
func TestMemoryLimit(t *testing.T) {
	big := `text = "ab," * 100000` + "\n"
	for name, src := range map[string]string{
		"re.findall":     `re.findall("[ab]", text)`,
		"re.split":       `re.split(",", text)`,
		"re.sub":         `re.sub("a", "xxxxxxxx", text)`,
		"csv.reader":     `csv.reader(text)`,
		"base64":         `[base64.b64encode(text) for i in range(5)]`,
		"xml.fromstring": `xml.fromstring("<a>" + "<b/>" * 50000 + "</a>")`,
		"xml.tostring":   `xml.tostring(xml.fromstring("<a>" + "<b/>" * 20000 + "</a>"))`,
		"random.token":   `[random.token_hex(60000) for i in range(100)]`,
		"format":         `[format(1, "60000d") for i in range(100)]`,
		"io.StringIO":    `[io.StringIO().write(text) for i in range(10)]`,
	} {
		for _, wrap := range []string{"%s", "catch(lambda: %s)"} {
			err := execMem(t, 1<<20, big+strings.Replace(wrap, "%s", src, 1)+"\nfail('not stopped')")
			var me *memlimit.ExceededError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), "starlark.max_memory (1MiB) exceeded") {
				t.Errorf("%s (%s): %v", name, wrap, err)
			}
		}
	}
	// Within the allowance the same work runs.
	if err := execMem(t, 64<<20, big+`re.findall("[ab]", text)`); err != nil {
		t.Error(err)
	}
}
