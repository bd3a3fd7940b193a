package mongodb

import (
	"context"
	"fmt"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mopts "go.mongodb.org/mongo-driver/v2/mongo/options"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// starlarkValue is self.out.mongodb["Name"] of a Starlark service; its
// conn.client is the client, as a PyMongo MongoClient is in Zato.
func starlarkValue(c *service.Context, name string, resource any) (sl.Value, error) {
	conn := resource.(*Conn)
	cl := &client{inv: &invocation{c: c, name: name, conn: conn}}
	ping := sl.NewBuiltin("ping", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return sl.None, conn.ping(c.Context)
	})
	connValue := starlarkstruct.FromStringDict(sl.String("conn"), sl.StringDict{"client": cl, "ping": ping})
	return starlarkstruct.FromStringDict(sl.String("mongodb"), sl.StringDict{"name": sl.String(name), "conn": connValue}), nil
}

// invocation is what one service invocation's values share: its context
// and the connection's name, looked up for each operation, so that an
// operation started after an administrator's change uses the new
// connection.
type invocation struct {
	c    *service.Context
	name string
	conn *Conn // as first looked up, for its settings
}

// op returns the client and a context bounded by socket_timeout for one
// operation; done ends it.
func (inv *invocation) op() (*mongo.Client, context.Context, func(), error) {
	v, err := inv.c.Out().Kind(Kind, inv.name)
	if err != nil {
		return nil, nil, nil, err
	}
	conn := v.(*Conn)
	cl, release, err := conn.acquire()
	if err != nil {
		return nil, nil, nil, err
	}
	parent := context.Context(inv.c)
	if inv.c.Context == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, conn.cfg.SocketTimeout.D())
	return cl, ctx, func() { cancel(); release() }, nil
}

// method is a builtin of a Starlark value.
type method func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)

// attrs returns a value's attribute: a method, or what other gives.
func attrs(recv sl.Value, methods map[string]method, name string, other func(string) sl.Value) (sl.Value, error) {
	if m, ok := methods[name]; ok {
		return sl.NewBuiltin(name, m).BindReceiver(recv), nil
	}
	if other == nil {
		return nil, nil
	}
	return other(name), nil
}

func names[F any](methods map[string]F) []string {
	n := make([]string, 0, len(methods))
	for k := range methods {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// client is PyMongo's MongoClient: client.test or client["test"] is a
// database.
type client struct{ inv *invocation }

var (
	_ sl.HasAttrs = (*client)(nil)
	_ sl.Mapping  = (*client)(nil)
)

func (v *client) String() string        { return fmt.Sprintf("MongoClient(%q)", v.inv.conn.cfg.Name) }
func (v *client) Type() string          { return "MongoClient" }
func (v *client) Freeze()               {}
func (v *client) Truth() sl.Bool        { return sl.True }
func (v *client) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: MongoClient") }
func (v *client) AttrNames() []string   { return names(v.methods()) }
func (v *client) Attr(name string) (sl.Value, error) {
	return attrs(v, v.methods(), name, func(n string) sl.Value { return v.database(n) })
}
func (v *client) Get(k sl.Value) (sl.Value, bool, error) {
	s, ok := k.(sl.String)
	if !ok {
		return nil, false, fmt.Errorf("a database's name is a str, not %s", k.Type())
	}
	return v.database(string(s)), true, nil
}

func (v *client) database(name string) *database { return &database{inv: v.inv, name: name} }

func (v *client) methods() map[string]method {
	return map[string]method{
		"get_database": func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var name string
			if err := sl.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
				return nil, err
			}
			return v.database(name), nil
		},
		"list_database_names": func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			cl, ctx, cancel, err := v.inv.op()
			if err != nil {
				return nil, err
			}
			defer cancel()
			n, err := cl.ListDatabaseNames(ctx, bson.D{})
			return stringList(n), failure(err)
		},
	}
}

// database is PyMongo's Database: db.orders or db["orders"] is a
// collection.
type database struct {
	inv  *invocation
	name string
}

var (
	_ sl.HasAttrs = (*database)(nil)
	_ sl.Mapping  = (*database)(nil)
)

func (v *database) String() string        { return fmt.Sprintf("Database(%q)", v.name) }
func (v *database) Type() string          { return "Database" }
func (v *database) Freeze()               {}
func (v *database) Truth() sl.Bool        { return sl.True }
func (v *database) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Database") }
func (v *database) AttrNames() []string   { return append(names(v.methods()), "name") }
func (v *database) Attr(name string) (sl.Value, error) {
	if name == "name" {
		return sl.String(v.name), nil
	}
	return attrs(v, v.methods(), name, func(n string) sl.Value { return v.collection(n) })
}
func (v *database) Get(k sl.Value) (sl.Value, bool, error) {
	s, ok := k.(sl.String)
	if !ok {
		return nil, false, fmt.Errorf("a collection's name is a str, not %s", k.Type())
	}
	return v.collection(string(s)), true, nil
}

func (v *database) collection(name string) *collection {
	return &collection{inv: v.inv, db: v.name, name: name}
}

func (v *database) methods() map[string]method {
	return map[string]method{
		"get_collection": func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var name string
			if err := sl.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
				return nil, err
			}
			return v.collection(name), nil
		},
		"list_collection_names": func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var filter sl.Value = sl.None
			if err := sl.UnpackArgs(b.Name(), args, kwargs, "filter?", &filter); err != nil {
				return nil, err
			}
			f, err := document("filter", filter)
			if err != nil {
				return nil, err
			}
			cl, ctx, cancel, err := v.inv.op()
			if err != nil {
				return nil, err
			}
			defer cancel()
			n, err := cl.Database(v.name).ListCollectionNames(ctx, f)
			return stringList(n), failure(err)
		},
		"command": func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var cmd sl.Value
			if err := sl.UnpackArgs(b.Name(), args, kwargs, "command", &cmd); err != nil {
				return nil, err
			}
			var d bson.D
			if s, ok := cmd.(sl.String); ok { // db.command("ping")
				d = bson.D{{Key: string(s), Value: 1}}
			} else {
				var err error
				if d, err = document("command", cmd); err != nil {
					return nil, err
				}
			}
			cl, ctx, cancel, err := v.inv.op()
			if err != nil {
				return nil, err
			}
			defer cancel()
			raw, err := cl.Database(v.name).RunCommand(ctx, d).Raw()
			if err != nil {
				return nil, failure(err)
			}
			return fromDocument(memlimit.Of(th), raw)
		},
		"drop_collection": func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var name string
			if err := sl.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
				return nil, err
			}
			return v.collection(name).drop()
		},
	}
}

func stringList(s []string) sl.Value {
	l := make([]sl.Value, len(s))
	for i, x := range s {
		l[i] = sl.String(x)
	}
	return sl.NewList(l)
}

// collection is PyMongo's Collection, with its query and write methods.
// find and aggregate return lists (of at most max_documents documents),
// which services iterate as they would PyMongo's cursors.
type collection struct {
	inv      *invocation
	db, name string
}

var _ sl.HasAttrs = (*collection)(nil)

func (v *collection) String() string        { return fmt.Sprintf("Collection(%q)", v.db+"."+v.name) }
func (v *collection) Type() string          { return "Collection" }
func (v *collection) Freeze()               {}
func (v *collection) Truth() sl.Bool        { return sl.True }
func (v *collection) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Collection") }
func (v *collection) AttrNames() []string {
	return append(names(collectionMethods), "name", "full_name")
}
func (v *collection) Attr(name string) (sl.Value, error) {
	switch name {
	case "name":
		return sl.String(v.name), nil
	case "full_name":
		return sl.String(v.db + "." + v.name), nil
	}
	m, ok := collectionMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin(name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		cl, ctx, cancel, err := v.inv.op()
		if err != nil {
			return nil, err
		}
		defer cancel()
		call := &opCall{th: th, name: b.Name(), args: args, kwargs: kwargs, ctx: ctx,
			coll: cl.Database(v.db).Collection(v.name), max: v.inv.conn.cfg.MaxDocuments}
		return m(call)
	}), nil
}

func (v *collection) drop() (sl.Value, error) {
	cl, ctx, cancel, err := v.inv.op()
	if err != nil {
		return nil, err
	}
	defer cancel()
	return sl.None, failure(cl.Database(v.db).Collection(v.name).Drop(ctx))
}

// opCall is one call of a collection method.
type opCall struct {
	th     *sl.Thread
	name   string
	args   sl.Tuple
	kwargs []sl.Tuple
	ctx    context.Context
	coll   *mongo.Collection
	max    int
}

func (c *opCall) unpack(pairs ...any) error { return sl.UnpackArgs(c.name, c.args, c.kwargs, pairs...) }

// result is a write's result, as PyMongo's result objects spell them.
func result(name string, fields sl.StringDict) sl.Value {
	fields["acknowledged"] = sl.True
	return starlarkstruct.FromStringDict(sl.String(name), fields)
}

func idValue(id any) (sl.Value, error) {
	if id == nil {
		return sl.None, nil
	}
	t, data, err := bson.MarshalValue(id)
	if err != nil {
		return nil, err
	}
	return fromRaw(bson.RawValue{Type: t, Value: data}, 0)
}

// collect reads a cursor into a list of at most max documents.
func (c *opCall) collect(cur *mongo.Cursor) (sl.Value, error) {
	defer cur.Close(context.WithoutCancel(c.ctx))
	a := memlimit.Of(c.th)
	var docs []sl.Value
	for cur.Next(c.ctx) {
		if len(docs) == c.max {
			return nil, service.NewError(500, "%s returned more than max_documents (%d) documents: add a limit, or raise the connection's max_documents", c.name, c.max)
		}
		d, err := fromDocument(a, cur.Current)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	if err := cur.Err(); err != nil {
		return nil, failure(err)
	}
	return sl.NewList(docs), nil
}

// sortSpec reads PyMongo's sort: a key, a list of (key, direction) pairs,
// or a dict.
func sortSpec(v sl.Value) (bson.D, error) {
	switch x := v.(type) {
	case sl.NoneType:
		return nil, nil
	case sl.String:
		return bson.D{{Key: string(x), Value: 1}}, nil
	case *sl.Dict:
		return document("sort", x)
	case sl.Indexable:
		d := make(bson.D, 0, x.Len())
		for i := 0; i < x.Len(); i++ {
			p, ok := x.Index(i).(sl.Indexable)
			if !ok || p.Len() != 2 {
				return nil, fmt.Errorf("sort: want (key, direction) pairs such as [(\"name\", 1), (\"age\", -1)]")
			}
			k, ok1 := p.Index(0).(sl.String)
			dir, ok2 := p.Index(1).(sl.Int)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("sort: want (key, direction) pairs such as [(\"name\", 1), (\"age\", -1)]")
			}
			n, _ := dir.Int64()
			d = append(d, bson.E{Key: string(k), Value: n})
		}
		return d, nil
	}
	return nil, fmt.Errorf("sort: got %s, want a key or a list of (key, direction) pairs", v.Type())
}

// projection reads PyMongo's projection: a dict, or a list of keys to
// include.
func projection(v sl.Value) (any, error) {
	switch x := v.(type) {
	case sl.NoneType:
		return nil, nil
	case *sl.Dict:
		return document("projection", x)
	case sl.Indexable:
		d := bson.D{}
		for i := 0; i < x.Len(); i++ {
			k, ok := x.Index(i).(sl.String)
			if !ok {
				return nil, fmt.Errorf("projection: a list of keys holds strings, not %s", x.Index(i).Type())
			}
			d = append(d, bson.E{Key: string(k), Value: 1})
		}
		return d, nil
	}
	return nil, fmt.Errorf("projection: got %s, want a dict or a list of keys", v.Type())
}

// collectionMethods are PyMongo's Collection methods that Plexus offers.
var collectionMethods = map[string]func(c *opCall) (sl.Value, error){
	"insert_one": func(c *opCall) (sl.Value, error) {
		var doc sl.Value
		if err := c.unpack("document", &doc); err != nil {
			return nil, err
		}
		d, err := document("document", doc)
		if err != nil {
			return nil, err
		}
		ensureID(doc, &d)
		r, err := c.coll.InsertOne(c.ctx, d)
		if err != nil {
			return nil, failure(err)
		}
		id, err := idValue(r.InsertedID)
		if err != nil {
			return nil, err
		}
		return result("InsertOneResult", sl.StringDict{"inserted_id": id}), nil
	},
	"insert_many": func(c *opCall) (sl.Value, error) {
		var docs *sl.List
		ordered := true
		if err := c.unpack("documents", &docs, "ordered?", &ordered); err != nil {
			return nil, err
		}
		if docs.Len() == 0 {
			return nil, fmt.Errorf("%s: documents must not be empty", c.name)
		}
		ds := make([]any, docs.Len())
		for i := range ds {
			d, err := document(fmt.Sprintf("documents[%d]", i), docs.Index(i))
			if err != nil {
				return nil, err
			}
			ensureID(docs.Index(i), &d)
			ds[i] = d
		}
		r, err := c.coll.InsertMany(c.ctx, ds, mopts.InsertMany().SetOrdered(ordered))
		if err != nil {
			return nil, failure(err)
		}
		ids := make([]sl.Value, len(r.InsertedIDs))
		for i, id := range r.InsertedIDs {
			if ids[i], err = idValue(id); err != nil {
				return nil, err
			}
		}
		return result("InsertManyResult", sl.StringDict{"inserted_ids": sl.NewList(ids)}), nil
	},
	"find": func(c *opCall) (sl.Value, error) {
		var filter, proj, srt sl.Value = sl.None, sl.None, sl.None
		var limit, skip int
		if err := c.unpack("filter?", &filter, "projection?", &proj, "sort?", &srt, "limit?", &limit, "skip?", &skip); err != nil {
			return nil, err
		}
		f, err := document("filter", filter)
		if err != nil {
			return nil, err
		}
		o := mopts.Find()
		if err := findOptions(proj, srt, func(p any) { o.SetProjection(p) }, func(s bson.D) { o.SetSort(s) }); err != nil {
			return nil, err
		}
		if limit < 0 || skip < 0 {
			return nil, fmt.Errorf("%s: limit and skip must not be negative", c.name)
		}
		if limit > 0 {
			o.SetLimit(int64(limit))
		}
		if skip > 0 {
			o.SetSkip(int64(skip))
		}
		cur, err := c.coll.Find(c.ctx, f, o)
		if err != nil {
			return nil, failure(err)
		}
		return c.collect(cur)
	},
	"find_one": func(c *opCall) (sl.Value, error) {
		var filter, proj, srt sl.Value = sl.None, sl.None, sl.None
		if err := c.unpack("filter?", &filter, "projection?", &proj, "sort?", &srt); err != nil {
			return nil, err
		}
		var f bson.D
		if id, ok := filter.(interface{ Type() string }); ok && id.Type() == "ObjectId" { // find_one(ObjectId(…))
			v, err := toBSON(filter, 0)
			if err != nil {
				return nil, err
			}
			f = bson.D{{Key: "_id", Value: v}}
		} else {
			var err error
			if f, err = document("filter", filter); err != nil {
				return nil, err
			}
		}
		o := mopts.FindOne()
		if err := findOptions(proj, srt, func(p any) { o.SetProjection(p) }, func(s bson.D) { o.SetSort(s) }); err != nil {
			return nil, err
		}
		raw, err := c.coll.FindOne(c.ctx, f, o).Raw()
		if err == mongo.ErrNoDocuments {
			return sl.None, nil
		}
		if err != nil {
			return nil, failure(err)
		}
		return fromDocument(memlimit.Of(c.th), raw)
	},
	"update_one":  update(false, false),
	"update_many": update(true, false),
	"replace_one": update(false, true),
	"delete_one":  deletion(false),
	"delete_many": deletion(true),
	"count_documents": func(c *opCall) (sl.Value, error) {
		var filter sl.Value = sl.None
		if err := c.unpack("filter?", &filter); err != nil {
			return nil, err
		}
		f, err := document("filter", filter)
		if err != nil {
			return nil, err
		}
		n, err := c.coll.CountDocuments(c.ctx, f)
		return sl.MakeInt64(n), failure(err)
	},
	"estimated_document_count": func(c *opCall) (sl.Value, error) {
		if err := c.unpack(); err != nil {
			return nil, err
		}
		n, err := c.coll.EstimatedDocumentCount(c.ctx)
		return sl.MakeInt64(n), failure(err)
	},
	"aggregate": func(c *opCall) (sl.Value, error) {
		var pipeline *sl.List
		if err := c.unpack("pipeline", &pipeline); err != nil {
			return nil, err
		}
		p, err := toBSON(pipeline, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: pipeline: %w", c.name, err)
		}
		cur, err := c.coll.Aggregate(c.ctx, p)
		if err != nil {
			return nil, failure(err)
		}
		return c.collect(cur)
	},
	"distinct": func(c *opCall) (sl.Value, error) {
		var key string
		var filter sl.Value = sl.None
		if err := c.unpack("key", &key, "filter?", &filter); err != nil {
			return nil, err
		}
		f, err := document("filter", filter)
		if err != nil {
			return nil, err
		}
		// Without maxTimeMS, which FerretDB refuses on distinct: the
		// operation is bounded here instead.
		ctx, cancel := context.WithCancel(context.WithoutCancel(c.ctx))
		defer cancel()
		stop := context.AfterFunc(c.ctx, cancel)
		defer stop()
		r := c.coll.Distinct(ctx, key, f)
		raw, err := r.Raw()
		if err != nil {
			return nil, failure(err)
		}
		if err := bson.Raw(raw).Validate(); err != nil {
			return nil, fmt.Errorf("malformed BSON: %w", err)
		}
		vals, err := raw.Values()
		if err != nil {
			return nil, fmt.Errorf("malformed BSON: %w", err)
		}
		if len(vals) > c.max {
			return nil, service.NewError(500, "%s returned more than max_documents (%d) values", c.name, c.max)
		}
		if a := memlimit.Of(c.th); a != nil {
			if err := a.Charge(int64(len(raw))*valueCost, "MongoDB values"); err != nil {
				return nil, err
			}
		}
		return fromRaw(bson.RawValue{Type: bson.TypeArray, Value: raw}, 0)
	},
	"create_index": func(c *opCall) (sl.Value, error) {
		var keys sl.Value
		var unique bool
		var name string
		if err := c.unpack("keys", &keys, "unique?", &unique, "name?", &name); err != nil {
			return nil, err
		}
		k, err := sortSpec(keys)
		if err != nil {
			return nil, fmt.Errorf("%s: keys: %w", c.name, err)
		}
		o := mopts.Index().SetUnique(unique)
		if name != "" {
			o.SetName(name)
		}
		n, err := c.coll.Indexes().CreateOne(c.ctx, mongo.IndexModel{Keys: k, Options: o})
		return sl.String(n), failure(err)
	},
	"drop": func(c *opCall) (sl.Value, error) {
		if err := c.unpack(); err != nil {
			return nil, err
		}
		return sl.None, failure(c.coll.Drop(c.ctx))
	},
}

// ensureID gives a document to insert an _id when it has none, and sets it
// in the service's dict too, as PyMongo does.
func ensureID(doc sl.Value, d *bson.D) {
	for _, e := range *d {
		if e.Key == "_id" {
			return
		}
	}
	id := bson.NewObjectID()
	*d = append(bson.D{{Key: "_id", Value: id}}, *d...)
	if dict, ok := doc.(*sl.Dict); ok {
		dict.SetKey(sl.String("_id"), stdlibObjectID(id)) // a frozen dict keeps its keys
	}
}

func findOptions(proj, srt sl.Value, setProj func(any), setSort func(bson.D)) error {
	p, err := projection(proj)
	if err != nil {
		return err
	}
	if p != nil {
		setProj(p)
	}
	s, err := sortSpec(srt)
	if err != nil {
		return err
	}
	if s != nil {
		setSort(s)
	}
	return nil
}

// update is update_one, update_many and replace_one.
func update(many, replace bool) func(c *opCall) (sl.Value, error) {
	return func(c *opCall) (sl.Value, error) {
		var filter, upd sl.Value
		var upsert bool
		second := "update"
		if replace {
			second = "replacement"
		}
		if err := c.unpack("filter", &filter, second, &upd, "upsert?", &upsert); err != nil {
			return nil, err
		}
		f, err := document("filter", filter)
		if err != nil {
			return nil, err
		}
		var u any
		if l, ok := upd.(*sl.List); ok && !replace { // an aggregation pipeline
			u, err = toBSON(l, 0)
		} else {
			u, err = document(second, upd)
		}
		if err != nil {
			return nil, err
		}
		var r *mongo.UpdateResult
		switch {
		case replace:
			r, err = c.coll.ReplaceOne(c.ctx, f, u, mopts.Replace().SetUpsert(upsert))
		case many:
			r, err = c.coll.UpdateMany(c.ctx, f, u, mopts.UpdateMany().SetUpsert(upsert))
		default:
			r, err = c.coll.UpdateOne(c.ctx, f, u, mopts.UpdateOne().SetUpsert(upsert))
		}
		if err != nil {
			return nil, failure(err)
		}
		id, err := idValue(r.UpsertedID)
		if err != nil {
			return nil, err
		}
		return result("UpdateResult", sl.StringDict{"matched_count": sl.MakeInt64(r.MatchedCount),
			"modified_count": sl.MakeInt64(r.ModifiedCount), "upserted_id": id}), nil
	}
}

// deletion is delete_one and delete_many.
func deletion(many bool) func(c *opCall) (sl.Value, error) {
	return func(c *opCall) (sl.Value, error) {
		var filter sl.Value
		if err := c.unpack("filter", &filter); err != nil {
			return nil, err
		}
		f, err := document("filter", filter)
		if err != nil {
			return nil, err
		}
		var r *mongo.DeleteResult
		if many {
			r, err = c.coll.DeleteMany(c.ctx, f)
		} else {
			r, err = c.coll.DeleteOne(c.ctx, f)
		}
		if err != nil {
			return nil, failure(err)
		}
		return result("DeleteResult", sl.StringDict{"deleted_count": sl.MakeInt64(r.DeletedCount)}), nil
	}
}
