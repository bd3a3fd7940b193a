package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the sql-select table
)

// Scenario is one workload, measured against Plexus and against the
// baseline under the same load. Adding a scenario means adding a value to
// scenarios.
type Scenario struct {
	// Name is what -scenarios selects and the table shows.
	Name string
	// About says in one line what the scenario measures.
	About string
	// Setup creates what the scenario needs in Plexus (channels, services,
	// connections) through the admin API. It must be safe to run twice.
	Setup func(ctx context.Context, a *adminClient, env setupEnv) error
	// Plexus and Baseline are the requests the load generator repeats.
	Plexus, Baseline Request
	// AgainstPlexus sends Baseline to Plexus too, instead of the bare
	// net/http server: the scenario then measures the cost of a Plexus
	// feature (typed I/O against the untyped echo, say).
	AgainstPlexus bool
	// Check verifies one response body to the request's body, so a
	// scenario cannot measure a fast wrong answer.
	Check func(sent, got []byte) error
	// NeedsPostgres marks a scenario that queries PostgreSQL: it is
	// skipped when the run has none (-postgres).
	NeedsPostgres bool
}

// setupEnv is what a scenario's Setup may need to know about the run.
type setupEnv struct {
	// Backend is the URL of the backend the proxy scenario calls.
	Backend string
	// Connections is the load's concurrency, for connection pools.
	Connections int
	// Postgres is the PostgreSQL URL of the sql-select scenario, and
	// SQLTable its table, of this run's own.
	Postgres, SQLTable string
}

// sqlPool is the pool size of both targets of the sql-select scenario.
const sqlPool = 16

// sqlRows is how many rows the sql-select scenario's table holds.
const sqlRows = 1000

// starSelect is the Starlark service of the sql-select scenario; %s is
// the table.
const starSelect = `def handle(self):
    self.response.payload = self.out.sql["bench"].conn.one(
        "SELECT id, name, balance FROM %s WHERE id = :id", {"id": int(self.request.input.id)})
`

// starEcho is the Starlark echo service of the starlark-echo scenario.
const starEcho = "def handle(self):\n    self.response.payload = self.request.input\n"

// scenarios returns every scenario, in the order they run.
func scenarios() []Scenario {
	hello := Request{Method: http.MethodGet, Path: "/hello"}
	small := Request{Method: http.MethodPost, Path: "/echo", Body: smallPayload()}
	large := Request{Method: http.MethodPost, Path: "/echo", Body: largePayload()}
	auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(benchUser+":"+benchPassword))}
	smallAuth := Request{Method: http.MethodPost, Path: "/echo-auth", Body: smallPayload(), Header: auth}
	return []Scenario{
		{
			Name:     "hello",
			About:    "GET with no body: a REST channel on plexus.ping, which answers {\"is_ok\":true,\"cid\":...}.",
			Setup:    putChannelFunc("bench.hello", channel{Service: "plexus.ping", URLPath: "/hello", Method: http.MethodGet}),
			Plexus:   hello,
			Baseline: hello,
			Check:    checkPing,
		},
		{
			Name:     "echo-100b",
			About:    "POST of a ~100-byte JSON object to a REST channel on plexus.helpers.echo, which returns it.",
			Setup:    putChannelFunc("bench.echo", channel{Service: "plexus.helpers.echo", URLPath: "/echo", Method: http.MethodPost}),
			Plexus:   small,
			Baseline: small,
			Check:    checkEcho,
		},
		{
			Name:     "echo-10kb",
			About:    "POST of a ~10 KB nested JSON object (an order) to the same echo channel.",
			Setup:    putChannelFunc("bench.echo", channel{Service: "plexus.helpers.echo", URLPath: "/echo", Method: http.MethodPost}),
			Plexus:   large,
			Baseline: large,
			Check:    checkEcho,
		},
		{
			Name: "echo-auth",
			About: "echo-100b behind HTTP Basic Auth and a generous rate limit by client address; the baseline checks " +
				"the same credentials with a constant-time compare.",
			Setup:    setupEchoAuth,
			Plexus:   smallAuth,
			Baseline: smallAuth,
			Check:    checkEcho,
		},
		{
			Name:  "starlark-echo",
			About: "The ~100-byte echo, answered by a hot-deployed Starlark service (self.response.payload = self.request.input).",
			Setup: func(ctx context.Context, a *adminClient, _ setupEnv) error {
				if err := a.post(ctx, "/admin/api/v1/deploy", map[string]string{"file": "bench_echo.star", "source": starEcho}); err != nil {
					return err
				}
				return a.putChannel(ctx, "bench.star-echo", channel{Service: "bench-echo", URLPath: "/star-echo", Method: http.MethodPost})
			},
			Plexus:   Request{Method: http.MethodPost, Path: "/star-echo", Body: smallPayload()},
			Baseline: small,
			Check:    checkEcho,
		},
		{
			Name:          "typed-echo",
			About:         "POST of a 10-field object to a Go service declaring the 10 elements (typed I/O: conversion, validation, output filtering), against Plexus's untyped echo with the same body.",
			Setup:         putChannelsFunc(map[string]channel{"bench.typed-echo": {Service: "bench.typed-echo", URLPath: "/typed-echo", Method: http.MethodPost}, "bench.echo": {Service: "plexus.helpers.echo", URLPath: "/echo", Method: http.MethodPost}}),
			Plexus:        Request{Method: http.MethodPost, Path: "/typed-echo", Body: typedPayload()},
			Baseline:      Request{Method: http.MethodPost, Path: "/echo", Body: typedPayload()},
			AgainstPlexus: true,
			Check:         checkEcho,
		},
		{
			Name: "proxy",
			About: "GET through a channel whose Go service calls an outgoing REST connection to a local backend (a bare server answering " +
				"as plexus.ping), against an httputil.ReverseProxy with the same connection pool in front of the same backend.",
			Setup: func(ctx context.Context, a *adminClient, env setupEnv) error {
				conn := map[string]any{"host": env.Backend, "url_path": "/hello", "pool_size": max(env.Connections, 20)}
				if err := a.put(ctx, "outgoing_rest", "Backend", conn); err != nil {
					return err
				}
				return a.putChannel(ctx, "bench.proxy", channel{Service: "bench.proxy", URLPath: "/proxy", Method: http.MethodGet})
			},
			Plexus:   Request{Method: http.MethodGet, Path: "/proxy"},
			Baseline: Request{Method: http.MethodGet, Path: "/proxy"},
			Check:    checkPing,
		},
		{
			Name: "sql-select",
			About: "GET through a channel whose Starlark service selects one row by primary key through an outgoing SQL connection " +
				"to PostgreSQL, against a net/http handler running the same query through a pgxpool of the same size.",
			Setup:         setupSQL,
			Plexus:        Request{Method: http.MethodGet, Path: "/sql/42"},
			Baseline:      Request{Method: http.MethodGet, Path: "/sql/42"},
			Check:         checkSQL,
			NeedsPostgres: true,
		},
	}
}

// setupSQL creates the sql-select scenario's table, its outgoing SQL
// connection, service and channel.
func setupSQL(ctx context.Context, a *adminClient, env setupEnv) error {
	if err := createSQLTable(ctx, env.Postgres, env.SQLTable); err != nil {
		return err
	}
	u, err := url.Parse(env.Postgres)
	if err != nil {
		return fmt.Errorf("parsing -postgres: %w", err)
	}
	port, _ := strconv.Atoi(u.Port())
	pw, _ := u.User.Password()
	if err := a.put(ctx, "outgoing_sql", "bench", map[string]any{"engine": "postgresql", "host": u.Hostname(), "port": port,
		"db_name": strings.TrimPrefix(u.Path, "/"), "username": u.User.Username(), "password": pw, "pool_size": sqlPool}); err != nil {
		return err
	}
	if err := a.post(ctx, "/admin/api/v1/deploy", map[string]string{"file": "bench_select.star", "source": fmt.Sprintf(starSelect, env.SQLTable)}); err != nil {
		return err
	}
	return a.putChannel(ctx, "bench.sql", channel{Service: "bench-select", URLPath: "/sql/{id}", Method: http.MethodGet})
}

// createSQLTable creates the table of customers both targets select
// from, unless it exists.
func createSQLTable(ctx context.Context, dsn, table string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL);
INSERT INTO %[1]s SELECT i, 'customer ' || i, i + 0.5 FROM generate_series(1, %[2]d) AS i ON CONFLICT DO NOTHING`, table, sqlRows))
	if err != nil {
		return fmt.Errorf("creating the sql-select table: %w", err)
	}
	return nil
}

// dropSQLTable drops the table at the end of the run.
func dropSQLTable(dsn, table string) {
	if db, err := sql.Open("pgx", dsn); err == nil {
		db.Exec("DROP TABLE IF EXISTS " + table)
		db.Close()
	}
}

// checkSQL checks the row of customer 42, its balance exact.
func checkSQL(_, got []byte) error {
	var row map[string]any
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	if err := dec.Decode(&row); err != nil || len(row) != 3 || row["id"] != json.Number("42") ||
		row["name"] != "customer 42" || row["balance"] != json.Number("42.50") {
		return fmt.Errorf("got %s, want the row of customer 42: id, name and balance 42.50", got)
	}
	return nil
}

// The Basic Auth credentials of the echo-auth scenario.
const (
	benchUser     = "bench"
	benchPassword = "bench-password-1"
)

// setupEchoAuth creates the echo-auth scenario's security definition and
// channel: Basic Auth, and a rate limit far above what the benchmark
// sends, so every request pays for the checks and none is refused.
func setupEchoAuth(ctx context.Context, a *adminClient, _ setupEnv) error {
	if err := a.put(ctx, "security", "bench.basic", map[string]any{
		"type": "basic_auth", "username": benchUser, "password": benchPassword, "realm": "bench"}); err != nil {
		return err
	}
	return a.putChannel(ctx, "bench.echo-auth", channel{Service: "plexus.helpers.echo", URLPath: "/echo-auth", Method: http.MethodPost,
		Security: "bench.basic", RateLimiting: []map[string]any{{"rate": 1e9, "burst": 1e9}}})
}

// selectScenarios returns the scenarios named in list, a comma-separated
// list; empty or "all" selects every one.
func selectScenarios(list string) ([]Scenario, error) {
	all := scenarios()
	if list == "" || list == "all" {
		return all, nil
	}
	var out []Scenario
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == name })
		if i < 0 {
			names := make([]string, len(all))
			for j, s := range all {
				names[j] = s.Name
			}
			return nil, fmt.Errorf("selecting scenarios: no scenario named %q; there are %s", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// putChannelFunc returns a Setup that creates or replaces a REST channel.
func putChannelFunc(name string, ch channel) func(context.Context, *adminClient, setupEnv) error {
	return func(ctx context.Context, a *adminClient, _ setupEnv) error {
		return a.putChannel(ctx, name, ch)
	}
}

// putChannelsFunc returns a Setup that creates or replaces REST channels.
func putChannelsFunc(chs map[string]channel) func(context.Context, *adminClient, setupEnv) error {
	return func(ctx context.Context, a *adminClient, _ setupEnv) error {
		for name, ch := range chs {
			if err := a.putChannel(ctx, name, ch); err != nil {
				return err
			}
		}
		return nil
	}
}

// typedPayload returns the 10 elements bench.typed-echo declares, each
// already of its type, so its answer equals the request.
func typedPayload() []byte {
	return []byte(`{"cust_id":123,"name":"Jane Doe","is_active":true,"score":4.5,"item_count":7,"region":"EMEA",` +
		`"since":"2020-01-31","email":"jane@example.com","balance":1200.5,"ref":"0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"}`)
}

// smallPayload returns a JSON object of about 100 bytes.
func smallPayload() []byte {
	return []byte(`{"user_id":"8f14e45f","user_name":"my.user","email":"my.user@example.com","is_active":true,"score":42}`)
}

// largePayload returns a JSON object of about 10 KB: an order with its
// customer, addresses and as many line items as fit, each with nested
// attributes, numbers of several kinds and a few non-ASCII characters.
// It is the same on every call.
func largePayload() []byte {
	type address struct {
		Street  string `json:"street"`
		City    string `json:"city"`
		Zip     string `json:"zip"`
		Country string `json:"country"`
	}
	type item struct {
		SKU        string            `json:"sku"`
		Name       string            `json:"name"`
		Quantity   int               `json:"quantity"`
		UnitPrice  float64           `json:"unit_price"`
		Currency   string            `json:"currency"`
		Discount   *float64          `json:"discount"`
		Tags       []string          `json:"tags"`
		Attributes map[string]string `json:"attributes"`
		InStock    bool              `json:"in_stock"`
	}
	order := map[string]any{
		"order_id":   "ORD-2026-000184467",
		"created_at": "2026-03-14T09:26:53.589Z",
		"status":     "awaiting_payment",
		"channel":    "web",
		"customer": map[string]any{
			"cust_id":    "C-00482291",
			"name":       "Zoë Müller-Łukasik",
			"email":      "zoe.muller@example.com",
			"segment":    "gold",
			"phone":      "+49 30 901820",
			"consents":   map[string]bool{"email": true, "sms": false, "phone": false},
			"since_year": 2017,
		},
		"shipping_address": address{"Friedrichstraße 43", "Berlin", "10117", "DE"},
		"billing_address":  address{"Friedrichstraße 43", "Berlin", "10117", "DE"},
		"payment":          map[string]any{"method": "card", "brand": "visa", "last4": "4242", "captured": false},
		"notes":            nil,
	}
	colours := []string{"black", "white", "red", "navy", "olive"}
	sizes := []string{"XS", "S", "M", "L", "XL"}
	var items []item
	var total float64
	for i := 0; ; i++ {
		price := float64(499+(i*1373)%9500) / 100
		var discount *float64
		if i%3 == 0 {
			d := 0.15
			discount = &d
		}
		it := item{
			SKU:       fmt.Sprintf("SKU-%05d-%s", 10007+i*37, sizes[i%len(sizes)]),
			Name:      fmt.Sprintf("Organic cotton t-shirt, %s, size %s", colours[i%len(colours)], sizes[i%len(sizes)]),
			Quantity:  1 + i%4,
			UnitPrice: price,
			Currency:  "EUR",
			Discount:  discount,
			Tags:      []string{"apparel", "summer-2026", colours[i%len(colours)]},
			Attributes: map[string]string{
				"material": "100% organic cotton", "fit": "regular", "origin": "PT", "care": "30°C wash",
			},
			InStock: i%5 != 4,
		}
		next := append(items, it)
		order["items"] = next
		order["total"] = map[string]any{"amount": total + price*float64(it.Quantity), "currency": "EUR", "items": len(next)}
		b, _ := json.Marshal(order)
		if len(b) > 10*1024 {
			order["items"] = items
			order["total"] = map[string]any{"amount": total, "currency": "EUR", "items": len(items)}
			b, _ = json.Marshal(order)
			return b
		}
		items = next
		total += price * float64(it.Quantity)
	}
}

// checkPing verifies a plexus.ping answer: {"is_ok": true, "cid": ...}.
func checkPing(_, got []byte) error {
	var v struct {
		IsOK bool   `json:"is_ok"`
		CID  string `json:"cid"`
	}
	if err := json.Unmarshal(got, &v); err != nil {
		return fmt.Errorf("decoding the ping answer: %w", err)
	}
	if !v.IsOK || !validCID(v.CID) {
		return fmt.Errorf("ping answered %s; want is_ok true and a cid", got)
	}
	return nil
}

// checkEcho verifies that the answer is the JSON that was sent.
func checkEcho(sent, got []byte) error {
	a, err := decodeJSON(sent)
	if err != nil {
		return fmt.Errorf("decoding the request: %w", err)
	}
	b, err := decodeJSON(got)
	if err != nil {
		return fmt.Errorf("decoding the echo: %w", err)
	}
	if !reflect.DeepEqual(a, b) {
		return errors.New("the echo differs from the request")
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// validCID reports whether s is 24 lowercase hex characters.
func validCID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
