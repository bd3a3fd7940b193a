package mongodb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plexushq/plexus/internal/mongodb"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// The declaration has everything the admin API, forms and docs need.
func TestDeclaration(t *testing.T) {
	k, ok := registry.Lookup(mongodb.Kind)
	if !ok {
		t.Fatal("outgoing_mongodb is not registered")
	}
	for _, err := range k.Lint() {
		t.Error(err)
	}
}

// Bad configurations are refused at the field, before anything connects.
func TestValidation(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	for _, c := range []struct {
		obj  string
		want string
	}{
		{`{}`, "address"},
		{`{"address": "http://db.example.com"}`, "not a mongodb://"},
		{`{"address": "mongodb://u:secret@db.example.com/"}`, "holds a password"},
		{`{"address": "mongodb://db.example.com/", "server_list": "db:27017"}`, "not both"},
		{`{"server_list": "db.example.com"}`, "not host:port"},
		{`{"server_list": "db:27017", "compressor_list": "lz4"}`, "not a compressor"},
		{`{"server_list": "db:27017", "read_pref_type": "fastest"}`, "read_pref_type"},
	} {
		r := s.AdminCall("PUT", "/admin/api/v1/objects/outgoing_mongodb/bad", c.obj)
		if r.StatusCode != 400 || !strings.Contains(string(r.Body), c.want) || strings.Contains(string(r.Body), "secret") {
			t.Errorf("%s: %d %s, want 400 naming %q", c.obj, r.StatusCode, r.Body, c.want)
		}
	}
}

// seed is seed 003's service as Zato's documentation writes it, in
// Starlark.
const seed = `
def handle(self):

    # Obtain a MongoDB client
    client = self.out.mongodb['My MongoDB Connection'].conn.client

    # Select a database
    db = client.test

    # Insert a document
    db.my_collection.insert_one({'My object': 'My data'})

    # Get all documents already stored
    result = db.my_collection.find()

    # Print them out to logs
    for item in result:
        self.logger.info('Item: %s', item)
`

// The seed's example runs as written: insert_one, then find.
func TestSeed(t *testing.T) {
	m := newMongo(t)
	coll := m.client.Database("test").Collection("my_collection")
	coll.Drop(context.Background())
	t.Cleanup(func() { coll.Drop(context.Background()) })

	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "My MongoDB Connection", m.object(nil))
	s.Deploy("seed.star", seed)
	s.Channel("seed", "seed", "POST", "/seed", nil)
	s.WaitState(mongodb.Kind, "My MongoDB Connection", "running")
	var items int
	for i := 0; i < 2; i++ {
		r := s.Call("POST", "/seed", "", nil)
		if r.StatusCode != 200 {
			t.Fatalf("%d %s\n%s", r.StatusCode, r.Body, strings.Join(r.Logs(), "\n"))
		}
		for _, l := range r.Logs() {
			if strings.Contains(l, "Item: {") && strings.Contains(l, `\"My object\": \"My data\"`) {
				items++
			}
		}
	}
	if n, _ := coll.CountDocuments(context.Background(), bson.D{{Key: "My object", Value: "My data"}}); n != 2 {
		t.Errorf("%d documents stored, want 2", n)
	}
	if items != 3 { // 1, then 2
		t.Errorf("logged %d items, want 3:\n%s", items, s.Log)
	}
}

// types stores one value of every mapped type, hostile strings included,
// reads it back and says, for each, whether it came back equal and as
// what type.
const types = `
hostile = "it's \"quoted\"; DROP TABLE users; --\x00 {\"$ne\": 1} " + "x" * 100000

def handle(self):
    coll = self.out.mongodb["db"].conn.client[self.request.payload["db"]]["types"]
    doc = {
        "none": None, "yes": True, "small": 42, "big": 1 << 40, "neg": -7, "float": 1.5,
        "str": hostile, "bytes": b"\x00\x01\xff", "utf8": "zażółć 日本",
        "time": time.datetime(2026, 3, 29, 1, 30, 15, 123000, tz="Europe/Warsaw"),
        "uuid": uuid.UUID("0189e2f3-5c8a-7b7e-9d6f-123456789abc"),
        "ref": bson.ObjectId("65a1b2c3d4e5f60718293a4b"),
        "list": [1, "two", {"three": [3]}], "nested": {"a": {"b": {"c": None}}},
    }
    r = coll.insert_one(doc)
    got = coll.find_one({"_id": r.inserted_id})
    same = {k: got[k] == v for k, v in doc.items()}
    kinds = {k: type(got[k]) for k in doc}
    found = coll.find_one({"str": hostile}, projection=["str"])
    self.response.payload = {"same": same, "types": kinds, "id": str(r.inserted_id), "id_is_doc_id": doc["_id"] == r.inserted_id,
                             "found": found != None and found["str"] == hostile and len(found) == 2,
                             "no_match": coll.find_one({"str": {"$ne": hostile}}) == None,
                             "time": got["time"].isoformat()}
`

// Every mapped type goes in and comes back as itself; the server stores
// each as its BSON type; hostile strings are values, never operators.
func TestTypes(t *testing.T) {
	m := newMongo(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", m.object(nil))
	s.Deploy("types.star", types)
	s.Channel("types", "types", "POST", "/types", nil)
	r := s.Call("POST", "/types", fmt.Sprintf(`{"db": %q}`, m.db), nil)
	if r.StatusCode != 200 {
		t.Fatalf("%d %s\n%s", r.StatusCode, r.Body, strings.Join(r.Logs(), "\n"))
	}
	got := r.JSON(t)
	for k, same := range got["same"].(map[string]any) {
		if same != true {
			t.Errorf("%s came back different: %v", k, got["types"].(map[string]any)[k])
		}
	}
	for k, want := range map[string]string{"none": "NoneType", "small": "int", "big": "int", "float": "float", "bytes": "bytes",
		"time": "time", "uuid": "uuid", "ref": "ObjectId", "list": "list", "nested": "dict"} {
		if g := got["types"].(map[string]any)[k]; g != want {
			t.Errorf("%s came back as %v, want %s", k, g, want)
		}
	}
	if got["found"] != true || got["no_match"] != true || got["id_is_doc_id"] != true || got["time"] != "2026-03-29T00:30:15.123000+00:00" {
		t.Errorf("%v", got)
	}
	// As the server stores them.
	id, _ := bson.ObjectIDFromHex(got["id"].(string))
	raw, err := m.coll("types").FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bson.Type{"none": bson.TypeNull, "small": bson.TypeInt32, "big": bson.TypeInt64,
		"time": bson.TypeDateTime, "uuid": bson.TypeBinary, "ref": bson.TypeObjectID,
		"bytes": bson.TypeBinary, "nested": bson.TypeEmbeddedDocument} {
		if g := raw.Lookup(k).Type; g != want {
			t.Errorf("%s stored as %v, want %v", k, g, want)
		}
	}
}

// crud uses every collection method.
const crud = `
def handle(self):
    db = self.out.mongodb["db"].conn.client.get_database(self.request.payload["db"])
    c = db.people
    c.create_index([("email", 1)], unique=True)
    ids = c.insert_many([{"name": n, "email": n + "@example.com", "age": a, "team": t}
                         for n, a, t in [("ann", 31, "red"), ("bob", 25, "blue"), ("cy", 40, "red"), ("di", 19, "blue")]]).inserted_ids
    out = {}
    out["ids"] = len(ids)
    out["adults"] = [p["name"] for p in c.find({"age": {"$gte": 21}}, sort=[("age", -1)], projection={"name": 1, "_id": 0})]
    out["page"] = [p["name"] for p in c.find(sort="name", skip=1, limit=2)]
    out["count"] = c.count_documents({"team": "red"})
    out["estimated"] = c.estimated_document_count()
    u = c.update_one({"name": "bob"}, {"$inc": {"age": 1}})
    out["update_one"] = [u.matched_count, u.modified_count, u.upserted_id]
    u = c.update_many({"team": "red"}, {"$set": {"team": "green"}})
    out["update_many"] = [u.matched_count, u.modified_count]
    u = c.update_one({"name": "eve"}, {"$set": {"email": "eve@example.com"}}, upsert=True)
    out["upserted"] = u.upserted_id != None
    r = c.replace_one({"name": "di"}, {"name": "di", "email": "di@example.com", "age": 20})
    out["replaced"] = r.modified_count
    out["teams"] = sorted(c.distinct("team"))
    out["by_team"] = {g["_id"]: g["n"] for g in c.aggregate([{"$match": {"team": {"$ne": None}}}, {"$group": {"_id": "$team", "n": {"$sum": 1}}}])}
    out["bob"] = c.find_one({"name": "bob"})["age"]
    out["nobody"] = c.find_one({"name": "zed"})
    dup = catch(c.insert_one, {"email": "ann@example.com"})
    out["dup"] = dup.status
    out["deleted_one"] = c.delete_one({"name": "ann"}).deleted_count
    out["deleted_many"] = c.delete_many({}).deleted_count
    out["collections"] = db.list_collection_names()
    out["ping"] = db.command("ping")["ok"]
    self.response.payload = out
`

func TestOperations(t *testing.T) {
	m := newMongo(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", m.object(nil))
	s.Deploy("crud.star", crud)
	s.Channel("crud", "crud", "POST", "/crud", nil)
	r := s.Call("POST", "/crud", fmt.Sprintf(`{"db": %q}`, m.db), nil)
	if r.StatusCode != 200 {
		t.Fatalf("%d %s\n%s", r.StatusCode, r.Body, strings.Join(r.Logs(), "\n"))
	}
	want := `{"adults":["cy","ann","bob"],"bob":26,"by_team":{"blue":1,"green":2},"collections":["people"],"count":2,` +
		`"deleted_many":4,"deleted_one":1,"dup":409,"estimated":4,"ids":4,"nobody":null,"page":["bob","cy"],"ping":1,"replaced":1,` +
		`"teams":["blue","green"],"update_many":[2,2],"update_one":[1,1,null],"upserted":true}`
	var got, w any
	json.Unmarshal(r.Body, &got)
	json.Unmarshal([]byte(want), &w)
	if g, _ := json.Marshal(got); string(g) != string(mustJSON(w)) {
		t.Errorf("got  %s\nwant %s", g, mustJSON(w))
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// goService uses the connection from Go, through the official driver.
type goService struct{ db string }

func (goService) Name() string { return "t.go" }

func (g goService) Handle(c *service.Context) error {
	cl, err := c.Out().MongoDB("db")
	if err != nil {
		return err
	}
	coll := cl.Database(g.db).Collection("go")
	if _, err := coll.InsertOne(c, bson.D{{Key: "from", Value: "go"}}); err != nil {
		return err
	}
	n, err := coll.CountDocuments(c, bson.D{})
	c.Response.Payload = map[string]any{"count": n}
	return err
}

func TestGoService(t *testing.T) {
	m := newMongo(t)
	s := plexustest.Start(t, plexustest.Options{Services: []any{goService{db: m.db}}})
	s.Put(mongodb.Kind, "db", m.object(nil))
	s.Channel("go", "t.go", "POST", "/go", nil)
	if r := s.Call("POST", "/go", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"count":1`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Put(mongodb.Kind, "db", m.object(map[string]any{"is_active": false}))
	if r := s.Call("POST", "/go", "", nil); r.StatusCode != 503 || !strings.Contains(string(r.Body), "inactive") {
		t.Fatalf("an inactive connection: %d %s", r.StatusCode, r.Body)
	}
}

// A query returns at most max_documents documents; more is an error that
// says what to do.
func TestMaxDocuments(t *testing.T) {
	m := newMongo(t)
	docs := make([]any, 30)
	for i := range docs {
		docs[i] = bson.D{{Key: "i", Value: i}}
	}
	if _, err := m.coll("many").InsertMany(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", m.object(map[string]any{"max_documents": 10}))
	s.Deploy("many.star", `
def handle(self):
    c = self.out.mongodb["db"].conn.client[self.request.payload["db"]].many
    self.response.payload = {"n": len(c.find(limit=self.request.payload["limit"]))}
`)
	s.Channel("many", "many", "POST", "/many", nil)
	if r := s.Call("POST", "/many", fmt.Sprintf(`{"db": %q, "limit": 10}`, m.db), nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"n":10`) {
		t.Fatalf("within the limit: %d %s", r.StatusCode, r.Body)
	}
	r := s.Call("POST", "/many", fmt.Sprintf(`{"db": %q, "limit": 0}`, m.db), nil)
	if r.StatusCode != 500 || !strings.Contains(string(r.Body), "max_documents") {
		t.Fatalf("over the limit: %d %s", r.StatusCode, r.Body)
	}
}

// A deployment that cannot be reached leaves the connection degraded and
// the server up; calls fail with 502 and say why; ping says so too.
func TestUnreachable(t *testing.T) {
	addr := testenv.FreeAddr(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", map[string]any{"server_list": addr, "server_select_timeout": "300ms", "hb_frequency": "500ms"})
	s.Deploy("one.star", `
def handle(self):
    self.response.payload = self.out.mongodb["db"].conn.client.x.y.find_one()
`)
	s.Channel("one", "one", "POST", "/one", nil)
	st := s.WaitState(mongodb.Kind, "db", "degraded")
	if !strings.Contains(fmt.Sprint(st["error"]), "no server answers") {
		t.Errorf("status %v", st)
	}
	r := s.Call("POST", "/one", "", nil)
	if r.StatusCode != 502 || !strings.Contains(string(r.Body), "MongoDB cannot be reached") {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
	ping := s.AdminCall("POST", "/admin/api/v1/objects/outgoing_mongodb/db/ping", "").JSON(t)
	if ping["ok"] != false || ping["error"] == "" || ping["target"] != addr {
		t.Errorf("ping %v", ping)
	}
	if r := s.Call("GET", "/health", "", nil); r.StatusCode != 200 {
		t.Errorf("the server: %d", r.StatusCode)
	}
}

// ping answers from a reachable deployment; the pool shows in /metrics.
func TestPingAndMetrics(t *testing.T) {
	m := newMongo(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", m.object(nil))
	s.WaitState(mongodb.Kind, "db", "running")
	ping := s.AdminCall("POST", "/admin/api/v1/objects/outgoing_mongodb/db/ping", "").JSON(t)
	if ping["ok"] != true {
		t.Fatalf("ping %v", ping)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	if !strings.Contains(metrics, `plexus_mongodb_connections{name="db",state="open"}`) ||
		!strings.Contains(metrics, `plexus_object_up{kind="outgoing_mongodb",name="db"} 1`) {
		t.Errorf("metrics:\n%s", metrics)
	}
}

// Changing the connection under load fails no request: operations in
// flight finish on the old client.
func TestLiveEdit(t *testing.T) {
	m := newMongo(t)
	if _, err := m.coll("live").InsertOne(context.Background(), bson.D{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", m.object(nil))
	s.Deploy("live.star", `
def handle(self):
    self.response.payload = {"k": self.out.mongodb["db"].conn.client[self.request.payload["db"]].live.find_one({"k": 1})["k"]}
`)
	s.Channel("live", "live", "POST", "/live", nil)
	var stop atomic.Bool
	var calls, failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	body := fmt.Sprintf(`{"db": %q}`, m.db)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r := s.Call("POST", "/live", body, nil)
				calls.Add(1)
				if r.StatusCode != 200 {
					failed.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("%d %s", r.StatusCode, r.Body))
				}
			}
		}()
	}
	for i := range 20 {
		s.Put(mongodb.Kind, "db", m.object(map[string]any{"pool_size_max": 5 + i, "app_name": fmt.Sprint("edit-", i)}))
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 || calls.Load() < 20 {
		t.Fatalf("%d of %d calls failed; first: %v", failed.Load(), calls.Load(), first.Load())
	}
}

// Zato's mongodb section imports, with the fields Plexus does not use
// reported.
func TestZatoImport(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.Import(`
mongodb:
  - name: My MongoDB Connection
    is_active: true
    server_list: |
      127.0.0.1:27017
    username: zato
    password: zato-secret
    pool_size_max: "10"
    connect_timeout: 10
    is_tz_aware: true
    document_class: dict
`)
	obj := s.AdminCall("GET", "/admin/api/v1/objects/outgoing_mongodb/My%20MongoDB%20Connection", "").JSON(t)
	if obj["pool_size_max"] != float64(10) || obj["connect_timeout"] != "10s" || obj["username"] != "zato" {
		t.Errorf("%v", obj)
	}
}
