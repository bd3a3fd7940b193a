package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a stopped process has to exit after SIGTERM
// before it is killed. Plexus drains requests for up to 15 s by default.
const stopTimeout = 20 * time.Second

// process is a server started by the benchmark, with its output in a log
// file. Its methods are safe for concurrent use.
type process struct {
	name string
	cmd  *exec.Cmd
	// log is the file that receives the process's stdout and stderr.
	log string
	// done is closed when the process has exited; err is then its exit
	// error.
	done chan struct{}
	err  error

	stopOnce sync.Once
}

// startProcess starts bin with args, its stdout and stderr going to
// logPath, with extra environment variables env.
func startProcess(name, logPath string, env []string, bin string, args ...string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process ID.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// stopTimeout. Calling it again does nothing.
func (p *process) stop() error {
	var err error
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("stopping %s: it did not exit within %s of SIGTERM and was killed", p.name, stopTimeout)
		}
	})
	return err
}

// failure describes why the process is not answering: its exit status if
// it has exited, and the end of its log.
func (p *process) failure() string {
	var b strings.Builder
	if p.exited() {
		fmt.Fprintf(&b, "%s exited (%v)", p.name, p.err)
	} else {
		fmt.Fprintf(&b, "%s is running", p.name)
	}
	fmt.Fprintf(&b, "; the end of %s:\n%s", p.log, tail(p.log, 15))
	return b.String()
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// rssMB returns the resident set size of the process in MB (MiB), read
// from VmRSS in /proc/PID/status, so it works on Linux only.
func (p *process) rssMB() (float64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(p.pid()), "status"))
	if err != nil {
		return 0, fmt.Errorf("reading the RSS of %s: %w", p.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("reading the RSS of %s: %w", p.name, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("reading the RSS of %s: no VmRSS line in /proc/%d/status", p.name, p.pid())
}

// waitReady polls url until it answers 200, the process exits or timeout
// passes.
func waitReady(ctx context.Context, p *process, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for {
		if ok, _ := answers200(ctx, client, url); ok {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.exited() {
			return fmt.Errorf("waiting for %s: %s", url, p.failure())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: no answer within %s; %s", url, timeout, p.failure())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answers200 sends one GET and reports whether it was answered 200.
func answers200(ctx context.Context, client *http.Client, url string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// channel is a REST channel as the admin API takes it.
type channel struct {
	Service      string           `json:"service"`
	URLPath      string           `json:"url_path"`
	Method       string           `json:"method"`
	Security     string           `json:"security,omitempty"`
	RateLimiting []map[string]any `json:"rate_limiting,omitempty"`
}

// adminClient calls the Plexus admin API as the admin user. It is safe
// for concurrent use.
type adminClient struct {
	base     string // http://host:port
	password string
	http     *http.Client
}

func newAdminClient(addr, password string, conns int) *adminClient {
	return &adminClient{
		base:     "http://" + addr,
		password: password,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		}},
	}
}

// putChannel creates or replaces the REST channel name.
func (a *adminClient) putChannel(ctx context.Context, name string, ch channel) error {
	return a.put(ctx, "channel_rest", name, ch)
}

// put creates or replaces an object of a kind.
func (a *adminClient) put(ctx context.Context, kind, name string, obj any) error {
	return a.send(ctx, http.MethodPut, "/admin/api/v1/objects/"+kind+"/"+url.PathEscape(name), obj)
}

// post sends a JSON body to an admin API path.
func (a *adminClient) post(ctx context.Context, path string, body any) error {
	return a.send(ctx, http.MethodPost, path, body)
}

func (a *adminClient) send(ctx context.Context, method, path string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("calling %s %s: %w", method, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("calling %s %s: %w", method, path, err)
	}
	req.SetBasicAuth("admin", a.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("calling %s %s: the admin API answered %s: %s", method, path, resp.Status, strings.TrimSpace(string(answer)))
	}
	return nil
}
