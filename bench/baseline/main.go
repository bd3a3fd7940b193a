// Command baseline is the bare net/http server that the load benchmark
// measures Plexus against. It does the same work as the Plexus scenarios,
// the honest way and nothing more: it routes with http.ServeMux, gives
// every response a new 24-hex-character correlation ID from crypto/rand in
// X-Plexus-CID, answers GET /hello as plexus.ping does, and answers
// POST /echo by decoding the JSON body into an any (numbers kept exact)
// and encoding it back, as plexus.helpers.echo does. It writes no access
// log.
//
// With -proxy URL it also forwards GET /proxy to URL through an
// httputil.ReverseProxy: the bare equivalent of a channel whose service
// calls an outgoing REST connection. With -postgres URL it answers
// GET /sql/{id} with the row of -sql-table whose id is {id}, selected
// through a pgxpool of -sql-pool connections: the bare equivalent of a
// service querying an outgoing SQL connection.
//
// Usage:
//
//	baseline -listen 127.0.0.1:8080 [-proxy http://127.0.0.1:9090/hello] [-postgres URL -sql-table T -sql-pool 16]
//
// It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxBody is the largest request body accepted, Plexus's default
// limits.max_body_size.
const maxBody = 10 << 20

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	proxy := flag.String("proxy", "", "URL GET /proxy forwards to through an httputil.ReverseProxy (the proxy scenario)")
	postgres := flag.String("postgres", "", "PostgreSQL URL GET /sql/{id} selects from (the sql-select scenario)")
	table := flag.String("sql-table", "", "the table GET /sql/{id} selects from")
	pool := flag.Int("sql-pool", 16, "the most connections to PostgreSQL")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var sel *selector
	if *postgres != "" {
		var err error
		if sel, err = newSelector(ctx, *postgres, *table, *pool); err != nil {
			fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
			os.Exit(1)
		}
		defer sel.pool.Close()
	}
	if err := serve(ctx, *listen, *proxy, sel); err != nil {
		fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
		os.Exit(1)
	}
}

// serve listens on addr and serves until ctx is done, then drains the
// requests in flight. Its timeouts are Plexus's defaults.
func serve(ctx context.Context, addr, proxy string, sel *selector) error {
	mux := newMux()
	if sel != nil {
		mux.Handle("GET /sql/{id}", sel)
	}
	if proxy != "" {
		target, err := url.Parse(proxy)
		if err != nil {
			return fmt.Errorf("parsing -proxy: %w", err)
		}
		mux.Handle("GET /proxy", newProxy(target))
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	select {
	case err := <-served:
		return fmt.Errorf("serving on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// newProxy returns a reverse proxy to target with a connection pool as
// large as Plexus's outgoing connection in the scenario, so both keep
// their connections to the backend alive.
func newProxy(target *url.URL) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = target.Path
		},
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
	}
	return rp
}

// newMux returns the baseline's routes. /health answers like the /health
// of the Plexus API listener, so both are polled the same way at start-up.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Plexus-CID", newCID())
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /hello", hello)
	mux.HandleFunc("POST /echo", echo)
	mux.HandleFunc("POST /echo-auth", echoAuth)
	return mux
}

// newCID returns 24 lowercase hex characters holding 96 random bits, as
// Plexus's correlation IDs do.
func newCID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hello answers {"is_ok":true,"cid":"<cid>"}, as plexus.ping does.
func hello(w http.ResponseWriter, r *http.Request) {
	id := newCID()
	w.Header().Set("X-Plexus-CID", id)
	writeJSON(w, map[string]any{"is_ok": true, "cid": id})
}

// echo decodes the JSON body and encodes it back.
func echo(w http.ResponseWriter, r *http.Request) {
	id := newCID()
	w.Header().Set("X-Plexus-CID", id)
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.UseNumber()
	var payload any
	if err := dec.Decode(&payload); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "invalid JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, payload)
}

// The credentials /echo-auth admits: those of the benchmark's echo-auth
// scenario.
const (
	authUser     = "bench"
	authPassword = "bench-password-1"
)

// echoAuth is echo behind HTTP Basic Auth, checked as a careful hand-written
// server would: both halves compared in constant time.
func echoAuth(w http.ResponseWriter, r *http.Request) {
	user, password, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(authUser))&subtle.ConstantTimeCompare([]byte(password), []byte(authPassword)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="bench"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	echo(w, r)
}

// writeJSON writes v as JSON with a Content-Length, without HTML escaping.
func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// selector answers GET /sql/{id} with one row selected by primary key.
type selector struct {
	pool  *pgxpool.Pool
	query string
}

func newSelector(ctx context.Context, dsn, table string, size int) (*selector, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing -postgres: %w", err)
	}
	cfg.MaxConns = int32(size)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &selector{pool: pool, query: "SELECT id, name, balance FROM " + table + " WHERE id = $1"}, nil
}

// ServeHTTP selects the row and answers it as JSON, the balance exact.
func (s *selector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newCID()
	w.Header().Set("X-Plexus-CID", id)
	key, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	var row struct {
		ID      int64          `json:"id"`
		Name    string         `json:"name"`
		Balance pgtype.Numeric `json:"balance"`
	}
	err = s.pool.QueryRow(r.Context(), s.query, key).Scan(&row.ID, &row.Name, &row.Balance)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		http.Error(w, "no such row", http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		writeJSON(w, row)
	}
}
