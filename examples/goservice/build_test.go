package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/testenv"
)

// The example builds, starts with quickstart, and serves its own services:
// the program as a user runs it (main_test.go tests the services).
func TestExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	bin := filepath.Join(t.TempDir(), "goservice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "quickstart", filepath.Join(t.TempDir(), "env"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = append(cmd.Environ(), "PLEXUS_ADMIN_PASSWORD=change-me-now")
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	started := make(chan struct{})
	logs := make(chan string, 1000)
	var api, adm string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if a, b, ok := testenv.StartedAddrs(sc.Text()); ok {
				api, adm = a, b
				close(started)
			}
			select {
			case logs <- sc.Text():
			default:
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the example did not start")
	}
	put := func(name, body string) {
		req, _ := http.NewRequest("PUT", fmt.Sprintf("http://%s/admin/api/v1/objects/channel_rest/%s", adm, name), strings.NewReader(body))
		req.SetBasicAuth("admin", "change-me-now")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("creating channel %s: %v %v", name, resp, err)
		}
	}
	put("hello", `{"service": "example.greet", "url_path": "/api/hello/{name}"}`)
	put("customers", `{"service": "example.customers", "url_path": "/api/customers/{id}"}`)

	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, "http://"+api+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, m := call("GET", "/api/hello/world", ""); status != 200 || m["greeting"] != "Hello, world!" {
		t.Errorf("greet: %d %v", status, m)
	}
	if status, m := call("GET", "/api/customers/7", ""); status != 200 || m["name"] != "Jane Doe" {
		t.Errorf("customer: %d %v", status, m)
	}
	if status, m := call("GET", "/api/customers/404", ""); status != 404 || m["details"] != "No customer 404" {
		t.Errorf("missing customer: %d %v", status, m)
	}
	if status, m := call("POST", "/api/customers/new", `{"name":"Ann"}`); status != 201 || m["greeting"].(map[string]any)["greeting"] != "Hello, Ann!" {
		t.Errorf("create customer: %d %v", status, m)
	}
	if status, _ := call("DELETE", "/api/customers/7", ""); status != 405 {
		t.Errorf("DELETE: %d", status)
	}
}
