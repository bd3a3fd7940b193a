package dashboard

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/sio"
)

// maxLogLines is the most log lines an invocation's answer shows.
const maxLogLines = 200

// users maps each service to the objects that name it (channels, jobs,
// …), as "kind/name", in one pass over the objects.
func users(st *live.State) map[string][]registry.Ref {
	out := map[string][]registry.Ref{}
	for _, k := range registry.All() {
		svcFields := slices.ContainsFunc(k.Fields(), func(f registry.Field) bool { return f.Ref == registry.RefService })
		if !svcFields {
			continue
		}
		for _, obj := range st.Objects(k.ID) {
			for _, ref := range k.Refs(obj) {
				if ref.Kind == registry.RefService {
					out[ref.Name] = append(out[ref.Name], registry.Ref{Kind: k.ID, Name: registry.NameOf(obj), Field: ref.Field})
				}
			}
		}
	}
	return out
}

// Users of a service shown in the list, and on its page; the others are
// counted.
const (
	listUsers = 5
	pageUsers = 50
)

// serviceRow is a service in the list.
type serviceRow struct {
	*catalog.Service
	Summary string
	Users   []registry.Ref
	// More counts the users not shown.
	More int
}

// firstUsers returns the first n users, and how many are left out.
func firstUsers(users []registry.Ref, n int) ([]registry.Ref, int) {
	if len(users) <= n {
		return users, 0
	}
	return users[:n], len(users) - n
}

// servicesData is the body of the list of services.
type servicesData struct {
	Q        string
	Builtins bool
	Rows     []serviceRow
}

// summary returns the first line of a docstring.
func summary(doc string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(doc), "\n")
	return line
}

// servicesPage lists the deployed services with their docs, language
// and the objects that use them; ?q= searches, ?builtins=true shows the
// built-in ones too.
func (d *Dashboard) servicesPage(w http.ResponseWriter, r *http.Request, s *session) {
	st := d.state()
	q := r.URL.Query()
	sd := &servicesData{Q: strings.TrimSpace(q.Get("q")), Builtins: q.Get("builtins") == "true"}
	used := users(st)
	needle := strings.ToLower(sd.Q)
	for _, n := range st.Services.Names() {
		svc := st.Services.Get(n)
		if svc.Builtin && !sd.Builtins {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(n+" "+svc.Doc), needle) {
			continue
		}
		row := serviceRow{Service: svc, Summary: summary(svc.Doc)}
		row.Users, row.More = firstUsers(used[n], listUsers)
		sd.Rows = append(sd.Rows, row)
	}
	d.render(w, r, http.StatusOK, "services", d.page(r, s, "Services", sd))
}

// serviceData is the body of a service's page.
type serviceData struct {
	*catalog.Service
	IO       *sio.Info
	Users    []registry.Ref
	More     int
	Source   template.HTML
	Switches sio.Switches
	// Payload, Verb and Answer are the invoke form and what it answered.
	Payload, Verb string
	Answer        *invokeAnswer
	Notice        string
	Problems      []string
}

// invokeAnswer is what an invocation from the service's page answered.
type invokeAnswer struct {
	Status  int
	Headers []header
	Body    string
	CID     string
	Took    time.Duration
	Log     []string
}

// header is one response header.
type header struct{ Name, Value string }

// servicePage shows a service: its docstring, typed I/O, source, users,
// the switches of its typed I/O and the invoke form.
func (d *Dashboard) servicePage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showService(w, r, s, http.StatusOK, &serviceData{Payload: "{}", Notice: r.URL.Query().Get("notice")})
}

func (d *Dashboard) showService(w http.ResponseWriter, r *http.Request, s *session, status int, sd *serviceData) {
	st := d.state()
	name := r.PathValue("name")
	svc := st.Services.Get(name)
	if svc == nil {
		d.notFound(w, r, s, "No service named "+strconv.Quote(name)+" is deployed.")
		return
	}
	sd.Service, sd.IO = svc, sio.Describe(svc.IO)
	sd.Users, sd.More = firstUsers(users(st)[name], pageUsers)
	if f, ok := st.Code()[svc.Source]; ok {
		sd.Source = highlight(string(f.Source))
	}
	sd.Switches = sio.DefaultSwitches()
	if ans := d.call(r, http.MethodGet, "/services/"+url.PathEscape(name)+"/io", nil, ""); ans.Status == http.StatusOK {
		json.Unmarshal(ans.Body, &sd.Switches)
	}
	d.render(w, r, status, "service", d.page(r, s, name, sd))
}

// invoke invokes a service through the admin API and shows the answer
// with its status, headers, time and cid, and the log lines of the cid.
func (d *Dashboard) invoke(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	sd := &serviceData{Payload: r.PostFormValue("payload"), Verb: r.PostFormValue("verb")}
	path := "/services/" + url.PathEscape(name) + "/invoke"
	if sd.Verb != "" {
		path += "?verb=" + url.QueryEscape(sd.Verb)
	}
	start := time.Now()
	ans := d.call(r, http.MethodPost, path, []byte(sd.Payload), "application/json")
	a := &invokeAnswer{Status: ans.Status, Body: prettyJSON(ans.Body), CID: ans.cid(), Took: time.Since(start).Round(time.Microsecond)}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range ans.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		a.Headers = append(a.Headers, header{k, strings.Join(ans.Header[k], ", ")})
	}
	if a.CID != "" && d.Logs != nil {
		if d.FlushLogs != nil {
			d.FlushLogs()
		}
		a.Log = d.Logs.Lines(a.CID)
		if len(a.Log) > maxLogLines {
			a.Log = a.Log[len(a.Log)-maxLogLines:]
		}
	}
	sd.Answer = a
	d.showService(w, r, s, http.StatusOK, sd)
}

// setSwitches changes the switches of a service's typed I/O through the
// admin API.
func (d *Dashboard) setSwitches(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	body, _ := json.Marshal(map[string]bool{
		"validate_schema": last(r.PostForm["validate_schema"]) == "true",
		"detailed_errors": last(r.PostForm["detailed_errors"]) == "true",
	})
	ans := d.call(r, http.MethodPut, "/services/"+url.PathEscape(name)+"/io", body, "application/json")
	if ans.Status >= 300 {
		d.showService(w, r, s, ans.Status, &serviceData{Payload: "{}", Problems: []string{refusalText(ans)}})
		return
	}
	http.Redirect(w, r, "/services/"+url.PathEscape(name)+"?notice="+url.QueryEscape("Typed I/O switches saved."), http.StatusSeeOther)
}

func last(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[len(ss)-1]
}

// refusalText returns the problems of a refusal as one line.
func refusalText(ans *answer) string {
	var parts []string
	for _, p := range refusal(ans) {
		parts = append(parts, p.Error())
	}
	return strings.Join(parts, "; ")
}
