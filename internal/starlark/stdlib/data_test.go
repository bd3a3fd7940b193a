package stdlib

import (
	"testing"
)

// csv against Python's csv module (the results were made with it).
func TestCSV(t *testing.T) {
	check(t, [][2]string{
		{`repr(csv.reader("a,\"b\nc\",d\r\n\n x , \"q\"\"q\" ,\"ab\"c\n"))`, `[["a", "b\nc", "d"], [], [" x ", " \"q\"\"q\" ", "abc"]]`},
		{`repr(csv.reader("a,b\r\nc,d\r\n"))`, `[["a", "b"], ["c", "d"]]`},
		{`repr(csv.reader("a,b\rc,d"))`, `[["a", "b"], ["c", "d"]]`},
		{`repr(csv.reader("a;b;\"c;d\"\n", delimiter=";"))`, `[["a", "b", "c;d"]]`},
		{`repr(csv.reader("a, 'b, c', d\n", quotechar="'", skipinitialspace=True))`, `[["a", "b, c", "d"]]`},
		{`repr(csv.reader("\"abc"))`, `[["abc"]]`},
		{`repr(csv.reader("a\\,b,c\n", escapechar="\\"))`, `[["a,b", "c"]]`},
		{`repr(csv.reader("\"a\"\"b\",,\n"))`, `[["a\"b", "", ""]]`},
		{`repr(csv.reader(""))`, `[]`},
		{`repr(csv.reader("\n\n"))`, `[[], []]`},
		{`repr(csv.reader("a,b,\n"))`, `[["a", "b", ""]]`},
		{`repr(csv.parse(["a,b", "c,d"]))`, `[["a", "b"], ["c", "d"]]`},
		{`repr(csv.reader("\"abc", strict=True))`, `error: csv.reader: line 1: unexpected end of data`},
		{`repr(csv.reader("\"a\"b", strict=True))`, `error: csv.reader: line 1: ',' expected after '"'`},
		{`repr(csv.DictReader("name,qty\njane,2\n\njohn,3,extra\nbob\n"))`, `[{"name": "jane", "qty": "2"}, {"name": "john", "qty": "3", None: ["extra"]}, {"name": "bob", "qty": None}]`},
		{`repr(csv.DictReader("jane,2\n", fieldnames=["name", "qty"]))`, `[{"name": "jane", "qty": "2"}]`},
		{`repr(csv.parse_dicts("a,b\n1\n", restval=""))`, `[{"a": "1", "b": ""}]`},
		{`repr(csv.format([["a b", "c,d", "e\"f", "", None, 1.5, True, "x\ny"], [""], []]))`, `"a b,\"c,d\",\"e\"\"f\",,,1.5,True,\"x\ny\"\r\n\"\"\r\n\r\n"`},
		{`repr(csv.format([["a", 1, 2.5, None]], quoting=csv.QUOTE_NONNUMERIC))`, `"\"a\",1,2.5,\"\"\r\n"`},
		{`repr(csv.format([["a", 1]], quoting=csv.QUOTE_ALL, lineterminator="\n"))`, `"\"a\",\"1\"\n"`},
		{`repr(csv.format([["a\tb", "c"]], delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))`, `"a\\\tb\tc\r\n"`},
		{`repr(csv.format([["a,b"]], quoting=csv.QUOTE_NONE))`, `error: csv.format: need to escape "a,b", but quoting is csv.QUOTE_NONE and there is no escapechar`},
		{`(lambda w: [w.writeheader(), w.writerow({"name": "jane", "qty": 2}), w.writerow({"name": "x, y"}), repr(w.getvalue())][-1])(csv.DictWriter(fieldnames=["name", "qty"]))`, `"name,qty\r\njane,2\r\n\"x, y\",\r\n"`},
		{`(lambda w: [w.writerows([[1, 2], [3, 4]]), w.getvalue()][-1])(csv.writer(lineterminator="\n"))`, "1,2\n3,4\n"},
		{`csv.DictWriter(fieldnames=["a"]).writerow({"a": 1, "b": 2})`, `error: csv.writer.writerow: dict contains fields not in fieldnames: "b" (pass extrasaction="ignore" to leave them out)`},
		{`csv.format_dicts([{"id": 1, "name": "Jane"}, {"id": 2, "name": "John, Jr."}])`, "id,name\r\n1,Jane\r\n2,\"John, Jr.\"\r\n"},
		{`csv.writer(open("x"))`, `error: expr:1:12: undefined: open`},
		{`csv.reader("a", delimiter="::")`, `error: csv.reader: delimiter must be a 1-character string`},
	})
}

const ordersXML = `<?xml version="1.0"?>
<orders xmlns:x="urn:ext">
  <order id="1" status="open"><customer>Jane</customer><item sku="A1" qty="2">Pen</item><item sku="B2" qty="1">Ink</item></order>
  <order id="2" status="closed"><customer>John</customer><item sku="C3" qty="5">Pad</item><x:note>rush</x:note></order>
</orders>`

// xml against Python's xml.etree.ElementTree (the results were made with
// it).
func TestXMLElementTree(t *testing.T) {
	r := "xml.fromstring(" + "'''" + ordersXML + "'''" + ")"
	on := func(expr string) string { return "(lambda r: " + expr + ")(" + r + ")" }
	check(t, [][2]string{
		{on(`[o.get("id") for o in r.findall("order")]`), `["1", "2"]`},
		{on(`r.find("order[@status='closed']/customer").text`), "John"},
		{on(`[i.text for i in r.findall(".//item")]`), `["Pen", "Ink", "Pad"]`},
		{on(`[i.get("sku") for i in r.findall("order/item[@qty='1']")]`), `["B2"]`},
		{on(`(r.findtext("order/customer"), r.findtext("nothing", "none"))`), `("Jane", "none")`},
		{on(`[o.get("id") for o in r.findall("order[customer='John']")]`), `["2"]`},
		{on(`(r.find("order/{urn:ext}note").text, r.find("order/x:note", {"x": "urn:ext"}).text, r.find("order/{*}note").text)`), `("rush", "rush", "rush")`},
		{on(`([i.text for i in r.findall("order/item[1]")], [i.text for i in r.findall("order/item[last()]")])`), `(["Pen", "Pad"], ["Ink", "Pad"])`},
		{on(`[e.tag for e in r.iter()][:5]`), `["orders", "order", "customer", "item", "item"]`},
		{on(`[e.get("sku") for e in r.iter("item")]`), `["A1", "B2", "C3"]`},
		{on(`r.find("order/customer/..").get("id")`), "1"},
		{on(`(len(r), r[0].tag, r[0][1].attrib)`), `(2, "order", {"sku": "A1", "qty": "2"})`},
		{on(`"".join(r[1].itertext())`), "JohnPadrush"},
		{on(`r.find("/orders")`), `error: Element.find: cannot use absolute path "/orders" on an element: start it with . or a tag, as in .//item`},
		{on(`r.find("order/x:note")`), `error: Element.find: path "order/x:note": prefix "x" is not in namespaces`},
		{`xml.tostring((lambda e: [xml.SubElement(e, "b"), e][-1])(xml.Element("a", {"k": "v"})))`, `<a k="v"><b /></a>`},
		{`xml.tostring(xml.fromstring("<a><!-- c --><b/>t&amp;u</a>"))`, `<a><b />t&amp;u</a>`},
		{`xml.fromstring("<a><b></a>")`, `error: xml.fromstring: line 1: element <b> closed by </a>`},
		{`xml.fromstring("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>")`, `error: xml.fromstring: line 1: invalid character entity &e;`},
		{`xml.fromstring("<a/><b/>")`, `error: xml.fromstring: junk after the document element <a>`},
		{`xml.fromstring("")`, `error: xml.fromstring: no element found`},
		{`xml.fromstring(b'<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\xe9</a>').text`, "café"},
	})
	// Building a document, with a namespace and escaping.
	_, err := exec(t, Limits{}, `
e = xml.Element("a", {"k": "v"})
s = xml.SubElement(e, "b")
s.text = "x<y"
s.tail = "t"
xml.SubElement(e, "{urn:n}c", q = '"')
got = xml.tostring(e)
if got != '<a xmlns:ns0="urn:n" k="v"><b>x&lt;y</b>t<ns0:c q="&quot;" /></a>':
    fail(got)
soap = xml.Element("{http://schemas.xmlsoap.org/soap/envelope/}Envelope")
body = xml.SubElement(soap, "{http://schemas.xmlsoap.org/soap/envelope/}Body")
xml.SubElement(body, "{urn:billing}GetBalance", account = "42")
got = xml.tostring(soap, namespaces = {"b": "urn:billing"})
want = '<soapenv:Envelope xmlns:b="urn:billing" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><b:GetBalance account="42" /></soapenv:Body></soapenv:Envelope>'
if got != want:
    fail(got)
back = xml.fromstring(got)
if back.find("{*}Body/{urn:billing}GetBalance").get("account") != "42":
    fail("round trip")
`)
	if err != nil {
		t.Fatal(err)
	}
}

// to_dict makes what xmltodict makes; from_dict is its inverse.
func TestXMLDicts(t *testing.T) {
	check(t, [][2]string{
		{`repr(xml.to_dict("<a x='1'><b>t</b><b>u</b><c/><d y='2'>v</d></a>"))`, `{"a": {"@x": "1", "b": ["t", "u"], "c": None, "d": {"@y": "2", "#text": "v"}}}`},
		{`repr(xml.to_dict('<s:Envelope xmlns:s="urn:s"><s:Body><r>1</r></s:Body></s:Envelope>'))`, `{"Envelope": {"Body": {"r": "1"}}}`},
		{`repr(xml.to_dict('<s:E xmlns:s="urn:s"/>', namespaces=True))`, `{"{urn:s}E": None}`},
		{`repr(xml.to_dict("<a><b>[1]</b></a>"))`, `{"a": {"b": "[1]"}}`},
		{`xml.tostring(xml.from_dict({"order": {"@id": 7, "item": [{"@sku": "A1", "#text": "Pen"}, "Ink"], "paid": True, "note": None}}))`,
			`<order id="7"><item sku="A1">Pen</item><item>Ink</item><paid>true</paid><note /></order>`},
		{`xml.to_dict(xml.tostring(xml.from_dict({"a": {"b": ["1", "2"]}}))) == {"a": {"b": ["1", "2"]}}`, "True"},
		{`xml.from_dict({"a": 1, "b": 2})`, `error: xml.from_dict: want a dict with one key, the root element's tag, as in {"order": {...}}; got 2 keys`},
		{`xml.from_dict({"a": [1, 2]})`, `error: xml.from_dict: the root element "a" cannot be a list: a document has one root`},
	})
}

// csv and io.StringIO used as Python code uses them.
func TestCSVWithStringIO(t *testing.T) {
	_, err := exec(t, Limits{}, `
out = io.StringIO()
w = csv.writer(out)
w.writerow(["sku", "qty"])
w.writerows([["A1", 2], ["B,2", 1]])
if out.getvalue() != 'sku,qty\r\nA1,2\r\n"B,2",1\r\n':
    fail(repr(out.getvalue()))
d = io.StringIO()
dw = csv.DictWriter(d, fieldnames = ["sku", "qty"])
dw.writeheader()
dw.writerow({"sku": "A1", "qty": 2})
if d.getvalue() != "sku,qty\r\nA1,2\r\n":
    fail(repr(d.getvalue()))
rows = [r for r in csv.DictReader(io.StringIO("sku,qty\nA1,2\nB2,3\n"))]
if rows != [{"sku": "A1", "qty": "2"}, {"sku": "B2", "qty": "3"}]:
    fail(repr(rows))
f = io.StringIO("a\nb")
if f.readline() != "a\n" or f.read() != "b" or f.read() != "":
    fail("read")
`)
	if err != nil {
		t.Fatal(err)
	}
}
