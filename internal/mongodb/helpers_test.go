package mongodb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plexushq/plexus/internal/testenv"
)

// mongoServer is a test's own client of the MongoDB-wire server in
// PLEXUS_TEST_MONGODB, with a database of the test's own, dropped when the
// test ends.
type mongoServer struct {
	t      testing.TB
	url    string
	client *mongo.Client
	db     string
}

func newMongo(t testing.TB) *mongoServer {
	t.Helper()
	url := testenv.Value(t, "PLEXUS_TEST_MONGODB", "a MongoDB connection string such as mongodb://127.0.0.1:27017/ (.ci/ferretdb starts one)")
	cl, err := mongo.Connect(options.Client().ApplyURI(url))
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	m := &mongoServer{t: t, url: url, client: cl, db: "plexus_test_" + hex.EncodeToString(b[:])}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cl.Database(m.db).Drop(ctx)
		cl.Disconnect(ctx)
	})
	return m
}

// object is an outgoing_mongodb object for the server, with more fields.
func (m *mongoServer) object(fields map[string]any) map[string]any {
	obj := map[string]any{"address": m.url, "server_select_timeout": "5s"}
	for k, v := range fields {
		obj[k] = v
	}
	return obj
}

func (m *mongoServer) coll(name string) *mongo.Collection {
	return m.client.Database(m.db).Collection(name)
}
