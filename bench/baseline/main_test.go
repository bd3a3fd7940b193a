package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // the body, or "" to skip
	}{
		{"POST", "/echo", `{"b":[1,2.50,"<x>"],"a":{"n":null}}`, 200, `{"a":{"n":null},"b":[1,2.50,"<x>"]}`},
		{"POST", "/echo", `{"a":`, 400, ""},
		{"GET", "/echo", "", 405, ""},
		{"POST", "/hello", "", 405, ""},
		{"GET", "/nope", "", 404, ""},
		{"GET", "/health", "", 200, `{"status":"ok"}`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || tc.want != "" && string(body) != tc.want {
			t.Errorf("%s %s %s = %d %s; want %d %s", tc.method, tc.path, tc.body, resp.StatusCode, body, tc.status, tc.want)
		}
	}
}

func TestHello(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		IsOK bool   `json:"is_ok"`
		CID  string `json:"cid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Plexus-CID")
	if !v.IsOK || v.CID != id || len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("GET /hello = %+v with X-Plexus-CID %q; want is_ok and the header's 24-hex cid", v, id)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
	}
}
