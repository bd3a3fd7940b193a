package dashboard

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
)

// PageSize is the number of objects a list shows at once.
const PageSize = 50

// maxColumns is the number of fields a list shows besides the name.
const maxColumns = 3

// navKinds lists the kinds for the navigation, with their counts.
func (d *Dashboard) navKinds() []navKind {
	st := d.state()
	var out []navKind
	for _, k := range registry.All() {
		out = append(out, navKind{ID: k.ID, Title: k.Title, Count: st.Count(k.ID)})
	}
	return out
}

// kindOf returns the kind the URL names, or answers 404.
func (d *Dashboard) kindOf(w http.ResponseWriter, r *http.Request, s *session) (*registry.Kind, bool) {
	k, ok := registry.Lookup(r.PathValue("kind"))
	if !ok {
		d.notFound(w, r, s, "No kind named "+strconv.Quote(r.PathValue("kind"))+".")
	}
	return k, ok
}

// columns returns the fields a list shows: the first few plain fields
// that are neither secret nor advanced.
func columns(k *registry.Kind) []registry.Field {
	var out []registry.Field
	for _, f := range k.Fields()[1:] {
		if len(out) == maxColumns {
			break
		}
		in := inputOf(f)
		if f.Secret || f.Advanced || in == inJSON || in == inTextarea || in == inLines || in == inMulti {
			continue
		}
		out = append(out, f)
	}
	return out
}

// listData is the body of a kind's list.
type listData struct {
	Kind    *registry.Kind
	Columns []registry.Field
	Rows    []row
	Q, Sort string
	Desc    bool
	// Page is the page shown, from 1; Pages how many there are; Total
	// the objects that match.
	Page, Pages, Total int
	HasStatus          bool
}

// row is one object in a list.
type row struct {
	Name  string
	Cells []string
	// nums are the cells read as numbers (NaN for text), for sorting.
	nums   []float64
	Status registry.StatusInfo
	// HasStatus is set for objects that run in the background.
	HasStatus bool
}

// PageURL returns the list's URL at another page.
func (l *listData) PageURL(page int) string {
	q := url.Values{}
	if l.Q != "" {
		q.Set("q", l.Q)
	}
	if l.Sort != "" && l.Sort != "name" {
		q.Set("sort", l.Sort)
	}
	if l.Desc {
		q.Set("desc", "true")
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/kinds/" + l.Kind.ID
	}
	return "/kinds/" + l.Kind.ID + "?" + q.Encode()
}

// SortURL returns the list's URL sorted by a column; sorting by the
// column it is sorted by reverses the order.
func (l *listData) SortURL(col string) string {
	c := *l
	c.Desc = c.Sort == col && !c.Desc
	c.Sort = col
	return c.PageURL(1)
}

// rowOf builds the row of an object.
func rowOf(st *live.State, k *registry.Kind, cols []registry.Field, name string) row {
	obj, _ := st.Object(k.ID, name)
	r := row{Name: name, Cells: make([]string, len(cols)), nums: make([]float64, len(cols))}
	for i, f := range cols {
		r.Cells[i] = cell(f.Value(obj))
		r.nums[i] = math.NaN()
		if inputOf(f) == inNumber {
			if n, err := strconv.ParseFloat(r.Cells[i], 64); err == nil {
				r.nums[i] = n
			}
		}
	}
	r.Status, r.HasStatus = st.Status(k.ID, name)
	return r
}

// cell returns a value as a list shows it.
func cell(v reflect.Value) string {
	switch {
	case v.Type() == reflect.TypeFor[config.Duration]():
		return config.Duration(v.Int()).String()
	case v.Kind() == reflect.String:
		return v.String()
	case v.Kind() == reflect.Bool:
		if v.Bool() {
			return "yes"
		}
		return "no"
	}
	return scalarText(v.Interface())
}

// listPage lists a kind's objects: ?q= searches names and the columns,
// ?sort= orders by a column (or status), ?desc=true reverses, ?page=
// pages. Only the page shown is built when the list is in name order and
// not searched, so a kind with 10,000 objects is listed as fast as one
// with 50.
func (d *Dashboard) listPage(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	st := d.state()
	q := r.URL.Query()
	l := &listData{Kind: k, Columns: columns(k), Q: strings.TrimSpace(q.Get("q")), Sort: cmp.Or(q.Get("sort"), "name"), Desc: q.Get("desc") == "true"}
	col := slices.IndexFunc(l.Columns, func(f registry.Field) bool { return f.Name == l.Sort })
	if col < 0 && l.Sort != "status" {
		l.Sort = "name"
	}
	l.Page, _ = strconv.Atoi(q.Get("page"))
	names := st.Names(k.ID)
	var rows []row
	if l.Q == "" && l.Sort == "name" {
		l.Total = len(names)
		if l.Desc {
			slices.Reverse(names)
		}
		from, to := l.window()
		for _, n := range names[from:to] {
			rows = append(rows, rowOf(st, k, l.Columns, n))
		}
	} else {
		// Without a search only the sorted column is read for every
		// object; the page's rows are read whole after sorting.
		cols, sortCol := l.Columns, col
		if l.Q == "" && col >= 0 {
			cols, sortCol = l.Columns[col:col+1], 0
		}
		needle := strings.ToLower(l.Q)
		for _, n := range names {
			rw := rowOf(st, k, cols, n)
			if needle != "" && !matches(rw, needle) {
				continue
			}
			rows = append(rows, rw)
		}
		slices.SortStableFunc(rows, func(a, b row) int {
			var c int
			switch {
			case l.Sort == "status":
				c = strings.Compare(a.Status.State, b.Status.State)
			case sortCol >= 0:
				c = compareCells(a, b, sortCol)
			}
			c = cmp.Or(c, strings.Compare(a.Name, b.Name))
			if l.Desc {
				return -c
			}
			return c
		})
		l.Total = len(rows)
		from, to := l.window()
		rows = rows[from:to]
		if len(cols) != len(l.Columns) {
			for i := range rows {
				rows[i] = rowOf(st, k, l.Columns, rows[i].Name)
			}
		}
	}
	l.Rows = rows
	for _, rw := range rows {
		l.HasStatus = l.HasStatus || rw.HasStatus
	}
	d.render(w, r, http.StatusOK, "list", d.page(r, s, k.Title+"s", l))
}

// window clamps the page to those there are and returns the slice of
// Total it shows.
func (l *listData) window() (int, int) {
	l.Pages = max(1, (l.Total+PageSize-1)/PageSize)
	l.Page = min(max(l.Page, 1), l.Pages)
	from := (l.Page - 1) * PageSize
	return min(from, l.Total), min(from+PageSize, l.Total)
}

// matches reports whether a row's name or cells hold needle (lower case).
func matches(rw row, needle string) bool {
	if strings.Contains(strings.ToLower(rw.Name), needle) {
		return true
	}
	for _, c := range rw.Cells {
		if strings.Contains(strings.ToLower(c), needle) {
			return true
		}
	}
	return false
}

// compareCells orders the cells of a column: numbers as numbers, the
// rest as text.
func compareCells(a, b row, col int) int {
	if x, y := a.nums[col], b.nums[col]; !math.IsNaN(x) && !math.IsNaN(y) {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a.Cells[col], b.Cells[col])
}

// formData is the body of an object's page and of the new object form.
type formData struct {
	Kind *registry.Kind
	// Name is the object's name, empty for a new one.
	Name   string
	Groups []group
	// Problems are those that name no field of the form.
	Problems []string
	// Notice says what a dry run or a change did.
	Notice string
	// Diff lists what a previewed change would change.
	Diff   []diffLine
	Status *registry.StatusInfo
	// Datalists are the names of kinds with too many objects for a
	// select, for the pickers that name them.
	Datalists map[string][]string
	// Answer is what an action answered.
	Answer *actionAnswer
}

// diffLine is one field a previewed change changes.
type diffLine struct {
	Field, Old, New string
}

// actionAnswer is the answer of an action run from the object's page.
type actionAnswer struct {
	Action string
	Status int
	Body   string
	CID    string
}

// newPage shows the form of a new object: the kind's defaults, or the
// fields of ?clone=NAME under a new name.
func (d *Dashboard) newPage(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	obj := k.New()
	if c := r.URL.Query().Get("clone"); c != "" {
		if o, ok := d.state().Object(k.ID, c); ok {
			obj = k.Clone(o)
			registry.SetName(obj, c+"-copy")
		}
	}
	vals, _ := valuesOf(k, obj)
	// Other parameters fill in fields: a service's page links to a new
	// channel with ?service=NAME.
	for key, v := range r.URL.Query() {
		if f, ok := k.Field(key); ok && key != "name" && !f.Secret {
			vals[key] = v
		}
	}
	d.showForm(w, r, s, http.StatusOK, k, "", vals, nil, nil, "")
}

// objectPage shows an object's form, with its status and actions.
func (d *Dashboard) objectPage(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	name := r.PathValue("name")
	obj, ok := d.state().Object(k.ID, name)
	if !ok {
		d.notFound(w, r, s, "No "+k.Title+" named "+strconv.Quote(name)+".")
		return
	}
	vals, set := valuesOf(k, obj)
	d.showForm(w, r, s, http.StatusOK, k, name, vals, set, nil, r.URL.Query().Get("notice"))
}

// showForm renders a form with values and the problems by field.
func (d *Dashboard) showForm(w http.ResponseWriter, r *http.Request, s *session, status int, k *registry.Kind, name string, vals url.Values, set map[string]bool, problems []*registry.Problem, notice string) {
	d.renderForm(w, r, s, status, k, name, vals, set, problems, &formData{Notice: notice})
}

func (d *Dashboard) renderForm(w http.ResponseWriter, r *http.Request, s *session, status int, k *registry.Kind, name string, vals url.Values, set map[string]bool, problems []*registry.Problem, fd *formData) {
	st := d.state()
	if name != "" && set == nil {
		if obj, ok := st.Object(k.ID, name); ok {
			_, set = valuesOf(k, obj)
		}
	}
	byField := map[string]string{}
	for _, p := range problems {
		top, _, _ := strings.Cut(p.Field, ".")
		top, _, _ = strings.Cut(top, "[")
		if _, ok := k.Field(top); ok && p.Field != "" && (p.Kind == "" || p.Kind == k.ID) {
			msg := p.Message
			if p.Field != top {
				msg = p.Field + ": " + msg
			}
			if byField[top] != "" {
				msg = byField[top] + "; " + msg
			}
			byField[top] = msg
			continue
		}
		fd.Problems = append(fd.Problems, p.Error())
	}
	fd.Kind, fd.Name = k, name
	fd.Groups = fieldViews(st, k, vals, set, byField)
	for _, g := range fd.Groups {
		for _, f := range append(g.Fields, g.Advanced...) {
			if f.List != "" {
				if fd.Datalists == nil {
					fd.Datalists = map[string][]string{}
				}
				fd.Datalists[f.List] = st.Names(f.Ref)
			}
		}
	}
	if name != "" {
		if info, ok := st.Status(k.ID, name); ok {
			fd.Status = &info
		}
	}
	title := "New " + noun(k.Title)
	if name != "" {
		title = k.Title + " " + name
	}
	d.render(w, r, status, "form", d.page(r, s, title, fd))
}

// noun returns a title inside a sentence: "Security definition" becomes
// "security definition", "REST channel" stays.
func noun(title string) string {
	if len(title) > 1 && title[1] >= 'A' && title[1] <= 'Z' {
		return title
	}
	return strings.ToLower(title[:1]) + title[1:]
}

// save creates or replaces an object from its form through the admin
// API; with dry_run=true it only previews the change.
func (d *Dashboard) save(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	vals := r.PostForm
	// An object keeps its name: a form edits it under the name in its
	// URL; a copy under another name is made with Clone.
	orig := r.PathValue("name")
	name := strings.TrimSpace(vals.Get("name"))
	if orig != "" {
		name = orig
		vals.Set("name", orig)
	}
	body, bad := formJSON(k, vals, orig != "")
	var problems []*registry.Problem
	for f, msg := range bad {
		problems = append(problems, &registry.Problem{Kind: k.ID, Name: name, Field: f, Message: msg})
	}
	if name == "" {
		problems = append(problems, &registry.Problem{Kind: k.ID, Field: "name", Message: "must not be empty"})
	}
	_, exists := d.state().Object(k.ID, name)
	if orig == "" && exists && len(problems) == 0 {
		problems = append(problems, &registry.Problem{Kind: k.ID, Name: name, Field: "name", Message: "a " + noun(k.Title) + " of this name exists already; pick another name"})
	}
	dryRun := vals.Get("dry_run") == "true"
	if len(problems) > 0 {
		d.renderForm(w, r, s, http.StatusBadRequest, k, orig, vals, nil, problems, &formData{})
		return
	}
	path := "/objects/" + url.PathEscape(k.ID) + "/" + url.PathEscape(name)
	if dryRun {
		path += "?dry_run=true"
	}
	ans := d.call(r, http.MethodPut, path, body, "application/json")
	if ans.Status >= 300 {
		d.renderForm(w, r, s, ans.Status, k, orig, vals, nil, refusal(ans), &formData{})
		return
	}
	if dryRun {
		fd := &formData{Notice: "Preview: the change passes every check and would be applied as shown. Nothing was changed yet."}
		fd.Diff = d.diff(k, name, ans.Body)
		d.renderForm(w, r, s, http.StatusOK, k, orig, vals, nil, nil, fd)
		return
	}
	notice := "Saved (revision " + ans.Header.Get("X-Plexus-Revision") + ")."
	http.Redirect(w, r, "/kinds/"+k.ID+"/objects/"+url.PathEscape(name)+"?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

// diff compares the object as it is with the one a preview answered,
// field by field (secrets by whether they change).
func (d *Dashboard) diff(k *registry.Kind, name string, previewed []byte) []diffLine {
	var after map[string]json.RawMessage
	json.Unmarshal(previewed, &after)
	before := map[string]json.RawMessage{}
	if obj, ok := d.state().Object(k.ID, name); ok {
		b, _ := json.Marshal(k.Public(obj))
		json.Unmarshal(b, &before)
	}
	var out []diffLine
	for _, f := range k.Fields() {
		o, n := compact(before[f.Name]), compact(after[f.Name])
		if o != n {
			out = append(out, diffLine{Field: f.Name, Old: o, New: n})
		}
	}
	return out
}

func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// refusal returns the problems of an admin API answer that refused.
func refusal(ans *answer) []*registry.Problem {
	var env struct {
		Details  string              `json:"details"`
		CID      string              `json:"cid"`
		Problems []*registry.Problem `json:"problems"`
	}
	if json.Unmarshal(ans.Body, &env) != nil {
		return []*registry.Problem{{Message: strings.TrimSpace(string(ans.Body))}}
	}
	if len(env.Problems) > 0 {
		return env.Problems
	}
	msg := env.Details
	if env.CID != "" {
		msg += " (cid " + env.CID + ")"
	}
	return []*registry.Problem{{Message: msg}}
}

// delete deletes an object through the admin API.
func (d *Dashboard) delete(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	name := r.PathValue("name")
	ans := d.call(r, http.MethodDelete, "/objects/"+url.PathEscape(k.ID)+"/"+url.PathEscape(name), nil, "")
	if ans.Status >= 300 {
		if ans.Status == http.StatusNotFound {
			d.notFound(w, r, s, "No "+k.Title+" named "+strconv.Quote(name)+".")
			return
		}
		obj, _ := d.state().Object(k.ID, name)
		vals, set := valuesOf(k, obj)
		d.renderForm(w, r, s, ans.Status, k, name, vals, set, refusal(ans), &formData{})
		return
	}
	http.Redirect(w, r, "/kinds/"+k.ID, http.StatusSeeOther)
}

// action runs a kind's action on an object through the admin API and
// shows its answer on the object's page.
func (d *Dashboard) action(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	name := r.PathValue("name")
	obj, ok := d.state().Object(k.ID, name)
	if !ok {
		d.notFound(w, r, s, "No "+k.Title+" named "+strconv.Quote(name)+".")
		return
	}
	act := r.PathValue("action")
	ans := d.call(r, http.MethodPost, "/objects/"+url.PathEscape(k.ID)+"/"+url.PathEscape(name)+"/"+url.PathEscape(act), []byte(r.PostFormValue("body")), "application/json")
	if obj2, ok := d.state().Object(k.ID, name); ok {
		obj = obj2
	}
	vals, set := valuesOf(k, obj)
	aa := &actionAnswer{Action: act, Status: ans.Status, Body: prettyJSON(ans.Body), CID: ans.cid()}
	d.renderForm(w, r, s, http.StatusOK, k, name, vals, set, nil, &formData{Answer: aa})
}

// prettyJSON indents JSON, or returns the text as it is.
func prettyJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	return jsonText(v)
}
