package stdlib

import (
	"fmt"
	"strings"
	"unicode/utf8"

	sl "go.starlark.net/starlark"
)

// Quoting modes, with Python's values.
const (
	quoteMinimal    = 0
	quoteAll        = 1
	quoteNonnumeric = 2
	quoteNone       = 3
)

// csvModule is csv: reader/parse and DictReader read text into rows,
// writer/DictWriter and format/format_dicts write rows as text, all in
// Python's excel dialect unless told otherwise.
func csvModule() sl.Value {
	m := fns("csv", map[string]builtinFunc{
		"reader":       csvReader,
		"parse":        csvReader,
		"DictReader":   csvDictReader,
		"parse_dicts":  csvDictReader,
		"writer":       csvWriter,
		"DictWriter":   csvDictWriter,
		"format":       csvFormat,
		"format_dicts": csvFormatDicts,
	})
	for name, v := range map[string]int{"QUOTE_MINIMAL": quoteMinimal, "QUOTE_ALL": quoteAll, "QUOTE_NONNUMERIC": quoteNonnumeric, "QUOTE_NONE": quoteNone} {
		m[name] = sl.MakeInt(v)
	}
	return module("csv", m)
}

// dialect is how fields are separated and quoted.
type dialect struct {
	delimiter, quotechar, escapechar rune
	doublequote, skipinitialspace    bool
	strict                           bool
	quoting                          int
	lineterminator                   string
}

// readDialect reads the dialect keywords of kwargs and returns the rest.
func readDialect(fn string, kwargs []sl.Tuple) (dialect, []sl.Tuple, error) {
	d := dialect{delimiter: ',', quotechar: '"', doublequote: true, lineterminator: "\r\n"}
	var rest []sl.Tuple
	char := func(name string, v sl.Value, dst *rune, allowNone bool) error {
		if v == sl.None && allowNone {
			*dst = 0
			return nil
		}
		s, ok := v.(sl.String)
		if !ok || utf8.RuneCountInString(string(s)) != 1 {
			return fmt.Errorf("%s: %s must be a 1-character string", fn, name)
		}
		*dst, _ = utf8.DecodeRuneInString(string(s))
		return nil
	}
	for _, kv := range kwargs {
		name, v := string(kv[0].(sl.String)), kv[1]
		var err error
		switch name {
		case "delimiter":
			err = char(name, v, &d.delimiter, false)
		case "quotechar":
			err = char(name, v, &d.quotechar, true)
		case "escapechar":
			err = char(name, v, &d.escapechar, true)
		case "doublequote", "skipinitialspace", "strict":
			b, ok := v.(sl.Bool)
			if !ok {
				return d, nil, fmt.Errorf("%s: %s must be True or False", fn, name)
			}
			*map[string]*bool{"doublequote": &d.doublequote, "skipinitialspace": &d.skipinitialspace, "strict": &d.strict}[name] = bool(b)
		case "quoting":
			err = sl.AsInt(v, &d.quoting)
			if err == nil && (d.quoting < 0 || d.quoting > quoteNone) {
				err = fmt.Errorf("%s: quoting must be one of csv.QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC, QUOTE_NONE", fn)
			}
		case "lineterminator":
			s, ok := v.(sl.String)
			if !ok {
				return d, nil, fmt.Errorf("%s: lineterminator must be a string", fn)
			}
			d.lineterminator = string(s)
		default:
			rest = append(rest, kv)
		}
		if err != nil {
			return d, nil, err
		}
	}
	if d.quotechar == 0 && d.quoting != quoteNone {
		return d, nil, fmt.Errorf("%s: quotechar must be set if quoting enabled", fn)
	}
	return d, rest, nil
}

// csvText reads the input of a reader: a str, bytes, or a list of lines.
func csvText(fn string, v sl.Value) (string, error) {
	switch x := v.(type) {
	case sl.String, sl.Bytes:
		return text(fn, x)
	case sl.Iterable:
		var b strings.Builder
		iter := x.Iterate()
		defer iter.Done()
		var line sl.Value
		for iter.Next(&line) {
			s, err := text(fn, line)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			if !strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, "\r") {
				b.WriteByte('\n')
			}
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("%s: got %s, want the CSV text, or a list of its lines", fn, v.Type())
}

// readRecords reads the records of a reader's input.
func readRecords(thread *sl.Thread, fn string, src sl.Value, d dialect) ([][]string, error) {
	s, err := csvText(fn, src)
	if err != nil {
		return nil, err
	}
	return parseCSV(thread, fn, s, d)
}

// parseCSV splits text into records as Python's csv.reader does.
func parseCSV(thread *sl.Thread, fn, text string, d dialect) ([][]string, error) {
	if err := spendBytes(thread, len(text)*2, fn); err != nil {
		return nil, err
	}
	if err := charge(thread, int64(len(text))+int64(strings.Count(text, string(d.delimiter))+1)*(stringCost+slotCost), fn); err != nil {
		return nil, err
	}
	const (
		startRecord = iota
		startField
		inField
		inQuoted
		quoteInQuoted
		escaped
		escapedInQuoted
	)
	var records [][]string
	var rec []string
	var field strings.Builder
	state := startRecord
	line := 1
	saveField := func() {
		rec = append(rec, field.String())
		field.Reset()
	}
	endRecord := func() {
		records = append(records, rec)
		rec = nil
	}
	quoting := d.quoting != quoteNone && d.quotechar != 0
	endedCR := false // the last record ended with \r: a \n after it is part of that end
	for _, c := range text {
		if c == '\n' {
			line++
		}
		eol := c == '\n' || c == '\r'
		skipLF := c == '\n' && endedCR
		endedCR = eol && c == '\r' && (state == startRecord || state == startField || state == inField || state == quoteInQuoted)
		switch state {
		case startRecord:
			if skipLF {
				continue
			}
			if eol {
				records = append(records, []string{})
				continue
			}
			state = startField
			fallthrough
		case startField:
			switch {
			case eol:
				saveField()
				endRecord()
				state = startRecord
			case quoting && c == d.quotechar:
				state = inQuoted
			case d.escapechar != 0 && c == d.escapechar:
				state = escaped
			case c == ' ' && d.skipinitialspace:
			case c == d.delimiter:
				saveField()
			default:
				field.WriteRune(c)
				state = inField
			}
		case escaped:
			field.WriteRune(c)
			state = inField
		case inField:
			switch {
			case eol:
				saveField()
				endRecord()
				state = startRecord
			case d.escapechar != 0 && c == d.escapechar:
				state = escaped
			case c == d.delimiter:
				saveField()
				state = startField
			default:
				field.WriteRune(c)
			}
		case inQuoted:
			switch {
			case d.escapechar != 0 && c == d.escapechar:
				state = escapedInQuoted
			case c == d.quotechar:
				if d.doublequote {
					state = quoteInQuoted
				} else {
					state = inField
				}
			default:
				field.WriteRune(c)
			}
		case escapedInQuoted:
			field.WriteRune(c)
			state = inQuoted
		case quoteInQuoted:
			switch {
			case c == d.quotechar:
				field.WriteRune(c)
				state = inQuoted
			case c == d.delimiter:
				saveField()
				state = startField
			case eol:
				saveField()
				endRecord()
				state = startRecord
			case d.strict:
				return nil, fmt.Errorf("%s: line %d: '%c' expected after '%c'", fn, line, d.delimiter, d.quotechar)
			default:
				field.WriteRune(c)
				state = inField
			}
		}
	}
	switch state {
	case inQuoted, escapedInQuoted, escaped:
		if d.strict {
			return nil, fmt.Errorf("%s: line %d: unexpected end of data", fn, line)
		}
		saveField()
		endRecord()
	case startField, inField, quoteInQuoted:
		saveField()
		endRecord()
	}
	return records, nil
}

func rowsValue(records [][]string) *sl.List {
	rows := make([]sl.Value, len(records))
	for i, r := range records {
		fields := make([]sl.Value, len(r))
		for j, f := range r {
			fields[j] = sl.String(f)
		}
		rows[i] = sl.NewList(fields)
	}
	return sl.NewList(rows)
}

// csvReader is csv.reader(text, delimiter=",", …): a list of rows, each a
// list of strings.
func csvReader(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	d, rest, err := readDialect(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var src sl.Value
	if err := sl.UnpackArgs(b.Name(), args, rest, "text", &src); err != nil {
		return nil, err
	}
	records, err := readRecords(thread, b.Name(), src, d)
	if err != nil {
		return nil, err
	}
	return rowsValue(records), nil
}

// csvDictReader is csv.DictReader(text, fieldnames=None, restkey=None,
// restval=None, …): a list of dicts keyed by the header row (or
// fieldnames); empty rows are skipped.
func csvDictReader(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	d, rest, err := readDialect(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var src sl.Value
	var fieldnames, restkey, restval sl.Value = sl.None, sl.None, sl.None
	if err := sl.UnpackArgs(b.Name(), args, rest, "text", &src, "fieldnames?", &fieldnames, "restkey?", &restkey, "restval?", &restval); err != nil {
		return nil, err
	}
	records, err := readRecords(thread, b.Name(), src, d)
	if err != nil {
		return nil, err
	}
	var names []sl.Value
	if fieldnames != sl.None {
		if names, err = stringList(b.Name(), "fieldnames", fieldnames); err != nil {
			return nil, err
		}
	} else {
		for len(records) > 0 && len(records[0]) == 0 {
			records = records[1:]
		}
		if len(records) == 0 {
			return sl.NewList(nil), nil
		}
		for _, n := range records[0] {
			names = append(names, sl.String(n))
		}
		records = records[1:]
	}
	if err := charge(thread, int64(len(records))*dictBytes(len(names)), b.Name()); err != nil {
		return nil, err
	}
	var out []sl.Value
	for _, r := range records {
		if len(r) == 0 {
			continue
		}
		row := sl.NewDict(len(names))
		for i, n := range names {
			if i < len(r) {
				row.SetKey(n, sl.String(r[i]))
			} else {
				row.SetKey(n, restval)
			}
		}
		if len(r) > len(names) {
			extra := make([]sl.Value, 0, len(r)-len(names))
			for _, f := range r[len(names):] {
				extra = append(extra, sl.String(f))
			}
			row.SetKey(restkey, sl.NewList(extra))
		}
		out = append(out, row)
	}
	return sl.NewList(out), nil
}

func stringList(fn, what string, v sl.Value) ([]sl.Value, error) {
	it, ok := v.(sl.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: %s: got %s, want a list of strings", fn, what, v.Type())
	}
	var out []sl.Value
	iter := it.Iterate()
	defer iter.Done()
	var x sl.Value
	for iter.Next(&x) {
		if _, ok := x.(sl.String); !ok {
			return nil, fmt.Errorf("%s: %s: got %s, want a list of strings", fn, what, x.Type())
		}
		out = append(out, x)
	}
	return out, nil
}

// writeRow writes one record as Python's csv.writer does.
func writeRow(b *strings.Builder, fn string, d dialect, row []sl.Value) error {
	for i, v := range row {
		if i > 0 {
			b.WriteRune(d.delimiter)
		}
		var s string
		numeric := false
		switch x := v.(type) {
		case sl.NoneType:
		case sl.String:
			s = string(x)
		case sl.Bytes:
			s = string(x)
		case sl.Int, sl.Float, Decimal:
			s, numeric = x.String(), true
		case sl.Bool:
			s = "False"
			if x {
				s = "True"
			}
		default:
			s = x.String()
		}
		quote := false
		switch d.quoting {
		case quoteAll:
			quote = true
		case quoteNonnumeric:
			quote = !numeric
		case quoteMinimal:
			quote = strings.ContainsRune(s, d.delimiter) || strings.ContainsRune(s, d.quotechar) || strings.ContainsAny(s, "\r\n") ||
				(len(row) == 1 && s == "") || (d.escapechar != 0 && strings.ContainsRune(s, d.escapechar))
		}
		if quote {
			b.WriteRune(d.quotechar)
		}
		for _, c := range s {
			switch {
			case d.quoting != quoteNone && c == d.quotechar:
				if d.doublequote {
					b.WriteRune(c)
				} else if d.escapechar != 0 {
					b.WriteRune(d.escapechar)
				} else {
					return fmt.Errorf("%s: need an escapechar for %q with doublequote=False", fn, s)
				}
			case d.escapechar != 0 && c == d.escapechar:
				b.WriteRune(c)
			case d.quoting == quoteNone && (c == d.delimiter || c == '\r' || c == '\n' || c == d.quotechar && d.quotechar != 0):
				if d.escapechar == 0 {
					return fmt.Errorf("%s: need to escape %q, but quoting is csv.QUOTE_NONE and there is no escapechar", fn, s)
				}
				b.WriteRune(d.escapechar)
			}
			b.WriteRune(c)
		}
		if quote {
			b.WriteRune(d.quotechar)
		}
	}
	b.WriteString(d.lineterminator)
	return nil
}

// sequenceValues returns the elements of a row.
func sequenceValues(fn string, v sl.Value) ([]sl.Value, error) {
	it, ok := v.(sl.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: a row must be a list or tuple, not %s", fn, v.Type())
	}
	if _, isStr := v.(sl.String); isStr {
		return nil, fmt.Errorf("%s: a row must be a list or tuple, not a string", fn)
	}
	var out []sl.Value
	iter := it.Iterate()
	defer iter.Done()
	var x sl.Value
	for iter.Next(&x) {
		out = append(out, x)
	}
	return out, nil
}

// csvOut is the text a writer has written so far; with a file (an
// io.StringIO), each row is written to it too.
type csvOut struct {
	d          dialect
	b          strings.Builder
	file       *StringIO
	fieldnames []sl.Value // DictWriter
	restval    sl.Value
	ignore     bool // extrasaction="ignore"
}

func (w *csvOut) row(thread *sl.Thread, fn string, v sl.Value) error {
	var values []sl.Value
	if w.fieldnames != nil {
		m, ok := v.(sl.Mapping)
		if !ok {
			return fmt.Errorf("%s: got %s, want a dict", fn, v.Type())
		}
		if !w.ignore {
			if it, ok := v.(sl.IterableMapping); ok {
				for _, item := range it.Items() {
					if !containsValue(w.fieldnames, item[0]) {
						return fmt.Errorf("%s: dict contains fields not in fieldnames: %s (pass extrasaction=\"ignore\" to leave them out)", fn, item[0])
					}
				}
			}
		}
		for _, n := range w.fieldnames {
			x, found, err := m.Get(n)
			if err != nil {
				return err
			}
			if !found {
				x = w.restval
			}
			values = append(values, x)
		}
	} else {
		var err error
		if values, err = sequenceValues(fn, v); err != nil {
			return err
		}
	}
	before := w.b.Len()
	if err := writeRow(&w.b, fn, w.d, values); err != nil {
		return err
	}
	n := w.b.Len() - before
	if err := spendBytes(thread, n, fn); err != nil {
		return err
	}
	if w.file != nil {
		return w.file.write(thread, fn, w.b.String()[before:])
	}
	return charge(thread, int64(n), fn)
}

func containsValue(vs []sl.Value, x sl.Value) bool {
	for _, v := range vs {
		if eq, _ := sl.Equal(v, x); eq {
			return true
		}
	}
	return false
}

func (w *csvOut) rows(thread *sl.Thread, fn string, v sl.Value) error {
	rows, err := sequenceValues(fn, v)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.row(thread, fn, r); err != nil {
			return err
		}
	}
	return nil
}

func csvWriter(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	d, rest, err := readDialect(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var file sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, rest, "f?", &file); err != nil {
		return nil, err
	}
	out := &csvOut{d: d}
	if err := out.setFile(b.Name(), file); err != nil {
		return nil, err
	}
	return &CSVWriter{out: out}, nil
}

func csvDictWriter(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	d, rest, err := readDialect(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var fieldnames sl.Value
	var restval sl.Value = sl.String("")
	var file sl.Value = sl.None
	extras := "raise"
	if len(args) > 0 {
		if _, isFile := args[0].(*StringIO); isFile {
			file, args = args[0], args[1:]
		}
	}
	if err := sl.UnpackArgs(b.Name(), args, rest, "fieldnames", &fieldnames, "restval?", &restval, "extrasaction?", &extras, "f?", &file); err != nil {
		return nil, err
	}
	names, err := stringList(b.Name(), "fieldnames", fieldnames)
	if err != nil {
		return nil, err
	}
	if extras != "raise" && extras != "ignore" {
		return nil, fmt.Errorf("%s: extrasaction must be \"raise\" or \"ignore\"", b.Name())
	}
	if names == nil {
		names = []sl.Value{}
	}
	out := &csvOut{d: d, fieldnames: names, restval: restval, ignore: extras == "ignore"}
	if err := out.setFile(b.Name(), file); err != nil {
		return nil, err
	}
	return &CSVWriter{out: out}, nil
}

// setFile makes a writer write to an io.StringIO too.
func (w *csvOut) setFile(fn string, f sl.Value) error {
	switch x := f.(type) {
	case sl.NoneType:
	case *StringIO:
		w.file = x
	default:
		return fmt.Errorf("%s: got %s, want an io.StringIO to write to (or nothing, and getvalue() on the writer)", fn, f.Type())
	}
	return nil
}

// csvFormat is csv.format(rows, …): the text of rows.
func csvFormat(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	d, rest, err := readDialect(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var rows sl.Value
	if err := sl.UnpackArgs(b.Name(), args, rest, "rows", &rows); err != nil {
		return nil, err
	}
	w := &csvOut{d: d}
	if err := w.rows(thread, b.Name(), rows); err != nil {
		return nil, err
	}
	return sl.String(w.b.String()), nil
}

// csvFormatDicts is csv.format_dicts(rows, fieldnames=None, header=True,
// …): the text of dicts, with a header row; fieldnames default to the
// keys of the first dict.
func csvFormatDicts(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	d, rest, err := readDialect(b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	var rows sl.Value
	var fieldnames sl.Value = sl.None
	var restval sl.Value = sl.String("")
	header := true
	if err := sl.UnpackArgs(b.Name(), args, rest, "rows", &rows, "fieldnames?", &fieldnames, "header?", &header, "restval?", &restval); err != nil {
		return nil, err
	}
	list, err := sequenceValues(b.Name(), rows)
	if err != nil {
		return nil, err
	}
	var names []sl.Value
	switch {
	case fieldnames != sl.None:
		if names, err = stringList(b.Name(), "fieldnames", fieldnames); err != nil {
			return nil, err
		}
	case len(list) > 0:
		first, ok := list[0].(sl.IterableMapping)
		if !ok {
			return nil, fmt.Errorf("%s: got rows of %s, want dicts", b.Name(), list[0].Type())
		}
		for _, item := range first.Items() {
			names = append(names, item[0])
		}
	}
	w := &csvOut{d: d, fieldnames: names, restval: restval}
	if header && len(names) > 0 {
		if err := writeRow(&w.b, b.Name(), d, names); err != nil {
			return nil, err
		}
	}
	for _, r := range list {
		if err := w.row(thread, b.Name(), r); err != nil {
			return nil, err
		}
	}
	return sl.String(w.b.String()), nil
}

// CSVWriter is what csv.writer and csv.DictWriter return: writerow adds
// a row, getvalue returns the text so far.
type CSVWriter struct {
	out *csvOut
}

func (w *CSVWriter) String() string        { return "<csv writer>" }
func (w *CSVWriter) Type() string          { return "csv.writer" }
func (w *CSVWriter) Freeze()               {}
func (w *CSVWriter) Truth() sl.Bool        { return sl.True }
func (w *CSVWriter) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: csv.writer") }
func (w *CSVWriter) AttrNames() []string {
	names := []string{"getvalue", "writerow", "writerows"}
	if w.out.fieldnames != nil {
		names = append(names, "fieldnames", "writeheader")
	}
	return names
}

func (w *CSVWriter) Attr(name string) (sl.Value, error) {
	var f func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)
	switch name {
	case "writerow", "writerows":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var v sl.Value
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &v); err != nil {
				return nil, err
			}
			if name == "writerow" {
				return sl.None, w.out.row(thread, fn, v)
			}
			return sl.None, w.out.rows(thread, fn, v)
		}
	case "getvalue":
		f = func(_ *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			return sl.String(w.out.b.String()), nil
		}
	case "writeheader":
		if w.out.fieldnames == nil {
			return nil, nil
		}
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			before := w.out.b.Len()
			if err := writeRow(&w.out.b, fn, w.out.d, w.out.fieldnames); err != nil {
				return nil, err
			}
			if w.out.file != nil {
				return sl.None, w.out.file.write(thread, fn, w.out.b.String()[before:])
			}
			return sl.None, nil
		}
	case "fieldnames":
		if w.out.fieldnames == nil {
			return nil, nil
		}
		return sl.NewList(append([]sl.Value{}, w.out.fieldnames...)), nil
	default:
		return nil, nil
	}
	return sl.NewBuiltin("csv.writer."+name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return f(thread, b.Name(), args, kwargs)
	}), nil
}
