// Package cache_test runs the product example: a REST channel whose
// replies are cached, and a service with a cache of its own.
package cache_test

import (
	"os"
	"testing"

	"github.com/plexushq/plexus/plexustest"
)

func TestProduct(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.DeployFiles("product.star")
	yaml, err := os.ReadFile("enmasse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Import(string(yaml))

	for i, want := range []struct {
		method, path, cache, body string
	}{
		{"GET", "/api/products/7", "miss", `{"product": {"id": "7", "name": "Product 7", "price": 11}, "catalogue_lookups": 1}`},
		{"GET", "/api/products/7", "hit", `{"product": {"id": "7", "name": "Product 7", "price": 11}, "catalogue_lookups": 1}`},
		{"GET", "/api/products/42", "miss", `{"product": {"id": "42", "name": "Product 42", "price": 12}, "catalogue_lookups": 2}`},
		{"PUT", "/api/products/7", "", `{"dropped_replies": 2}`},
		// The reply is gone and so is the product: the catalogue is asked again.
		{"GET", "/api/products/7", "miss", `{"product": {"id": "7", "name": "Product 7", "price": 11}, "catalogue_lookups": 3}`},
	} {
		r := s.Call(want.method, want.path, "", nil)
		if r.StatusCode != 200 || r.Header.Get("X-Plexus-Cache") != want.cache {
			t.Fatalf("%d: %s %s: %d, X-Plexus-Cache %q: %s", i, want.method, want.path, r.StatusCode, r.Header.Get("X-Plexus-Cache"), r.Body)
		}
		if err := plexustest.JSON(want.body)(r.Body); err != nil {
			t.Errorf("%d: %s %s: %v", i, want.method, want.path, err)
		}
	}
}
