package feed_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// adminDo sends an admin API request as the admin with extra headers.
func adminDo(t *testing.T, s *servertest.Server, method, path, body string, h map[string]string) *servertest.Response {
	t.Helper()
	header := http.Header{"Authorization": {"Bearer " + s.Server.Admin.CLIToken}, "Content-Type": {"application/json"}}
	for k, v := range h {
		header.Set(k, v)
	}
	return servertest.Do(t, method, s.Admin+path, body, header)
}

// Two nodes changing one object at once with If-Match: one wins, the
// other gets 412, and every node ends with the winner's version.
func TestConcurrentConflictingChanges(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	path := prefix + "/objects/channel_rest/x"
	a.Channel("x", "plexus.ping", "", "/x", nil)
	eventually(t, "B and C have x", func() bool {
		return b.AdminCall("GET", path, "").StatusCode == 200 && c.AdminCall("GET", path, "").StatusCode == 200
	})
	etag := a.AdminCall("GET", path, "").Header.Get("ETag")
	if etag == "" || b.AdminCall("GET", path, "").Header.Get("ETag") != etag {
		t.Fatalf("ETags: %q on A, %q on B", etag, b.AdminCall("GET", path, "").Header.Get("ETag"))
	}
	for round := range 5 {
		var wg sync.WaitGroup
		status := make([]int, 2)
		for i, s := range []*servertest.Server{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"service": "plexus.ping", "url_path": "/x-%d-%d"}`, round, i)
				status[i] = adminDo(t, s, "PUT", path, body, map[string]string{"If-Match": etag}).StatusCode
			}()
		}
		wg.Wait()
		sort.Ints(status)
		if status[0] != 200 || status[1] != 412 {
			t.Fatalf("round %d: statuses %v, want one 200 and one 412", round, status)
		}
		r := a.AdminCall("GET", path, "")
		etag = r.Header.Get("ETag")
		url := r.JSON(t)["url_path"]
		for _, s := range n {
			eventually(t, "every node has the winner's version", func() bool {
				got := s.AdminCall("GET", path, "")
				return got.Header.Get("ETag") == etag && got.JSON(t)["url_path"] == url
			})
		}
	}
	// A stale ETag cannot delete; the current one can.
	if r := adminDo(t, c, "DELETE", path, "", map[string]string{"If-Match": `"1"`}); r.StatusCode != 412 {
		t.Fatalf("a delete with a stale ETag: %d %s", r.StatusCode, r.Body)
	}
	if r := adminDo(t, c, "PUT", path, `{"service": "plexus.ping", "url_path": "/y"}`, map[string]string{"If-Match": "soon"}); r.StatusCode != 400 {
		t.Fatalf("a malformed If-Match: %d %s", r.StatusCode, r.Body)
	}
	if r := adminDo(t, c, "DELETE", path, "", map[string]string{"If-Match": etag}); r.StatusCode != 204 {
		t.Fatalf("a delete with the current ETag: %d %s", r.StatusCode, r.Body)
	}
	if r := adminDo(t, a, "PUT", prefix+"/objects/channel_rest/new", `{"service": "plexus.ping", "url_path": "/new"}`, map[string]string{"If-Match": "*"}); r.StatusCode != 412 {
		t.Fatalf("If-Match * on an object that does not exist: %d %s", r.StatusCode, r.Body)
	}
}

// Changes to different objects made at once on every node all land:
// none is lost to another committed meanwhile.
func TestConcurrentChangesAllLand(t *testing.T) {
	_, n := cluster(t, 3)
	const each = 8
	var wg sync.WaitGroup
	for i, s := range n {
		for j := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("c%d-%d", i, j)
				body := fmt.Sprintf(`{"service": "plexus.ping", "url_path": "/%s"}`, name)
				if r := adminDo(t, s, "PUT", prefix+"/objects/channel_rest/"+name, body, nil); r.StatusCode != 201 {
					t.Errorf("PUT %s: %d %s", name, r.StatusCode, r.Body)
				}
			}()
		}
	}
	wg.Wait()
	for _, s := range n {
		eventually(t, "every node has every channel", func() bool { return s.Runtime.State().Count("channel_rest") == len(n)*each })
	}
	if rev := n[0].Runtime.State().Rev; rev != int64(len(n)*each) {
		t.Errorf("revision %d after %d changes", rev, len(n)*each)
	}
}
