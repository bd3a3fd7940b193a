package dashboard

import (
	"net/http"

	"github.com/plexushq/plexus/internal/feed"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
)

// overviewData is the body of the overview page.
type overviewData struct {
	Rev                 int64
	Services            int
	Running, Background int
	NotRunning          []live.ObjectStatus
	Kinds               []navKind
	Charts              []chart
	Cluster             *feed.Cluster
	ClusterError        string
}

// overview shows the state of the platform: the objects that are not
// running, how many of each kind there are, and the nodes sharing the
// store with the revision each runs.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *session) {
	st := d.state()
	all := st.Statuses()
	o := &overviewData{Rev: st.Rev, Services: st.Services.Len(), Background: len(all)}
	for _, os := range all {
		if os.State == registry.StateRunning {
			o.Running++
		} else {
			o.NotRunning = append(o.NotRunning, os)
		}
	}
	if d.Metrics != nil {
		o.Charts = d.samples.charts()
	}
	if d.Cluster != nil {
		var err error
		if o.Cluster, err = d.Cluster(r.Context()); err != nil {
			o.ClusterError = err.Error()
		}
	}
	p := d.page(r, s, "Overview", o)
	o.Kinds = p.Kinds
	d.render(w, r, http.StatusOK, "overview", p)
}

// helpPage shows the docs of a kind's fields and actions, which every
// form field links to.
func (d *Dashboard) helpPage(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := d.kindOf(w, r, s)
	if !ok {
		return
	}
	type help struct {
		*registry.Kind
		Fields []registry.Field
	}
	d.render(w, r, http.StatusOK, "help", d.page(r, s, k.Title, help{Kind: k, Fields: k.Fields()}))
}
