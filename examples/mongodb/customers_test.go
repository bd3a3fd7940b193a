// Package mongodb_test runs the customers example against a
// MongoDB-wire server: PLEXUS_TEST_MONGODB (.ci/ferretdb starts one).
package mongodb_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

func TestCustomers(t *testing.T) {
	addr := testenv.Value(t, "PLEXUS_TEST_MONGODB", "a MongoDB connection string such as mongodb://127.0.0.1:27017/")
	u, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := mongo.Connect(options.Client().ApplyURI(addr))
	if err != nil {
		t.Fatal(err)
	}
	coll := cl.Database("crm").Collection("customers")
	clean := func() {
		coll.DeleteMany(context.Background(), bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: bson.A{"Ann", "Bob"}}}}})
	}
	clean()
	t.Cleanup(func() { clean(); cl.Disconnect(context.Background()) })

	s := plexustest.Start(t, plexustest.Options{})
	s.DeployFiles("customers.star")
	yaml, err := os.ReadFile("enmasse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Import(strings.ReplaceAll(string(yaml), "${MONGODB_SERVERS}", u.Host))

	for _, body := range []string{`{"name": "Bob", "segment": "vip"}`, `{"name": "Ann", "segment": "vip"}`} {
		if r := s.Call("POST", "/api/customers", body, nil); r.StatusCode != 201 || !strings.Contains(string(r.Body), `"id":"`) {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
	r := s.Call("GET", "/api/customers?segment=vip", "", nil)
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"names":["Ann","Bob"]`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "Customer Ann stored as ")
}
