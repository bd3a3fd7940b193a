package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Resource kinds of key-value connections, as Platform.Resource knows
// them.
const (
	// KindKVDB is the server's key-value database (Zato's self.kvdb.conn):
	// the embedded store, or Redis when plexus.yaml kvdb.redis names a
	// connection. Its only name is "".
	KindKVDB = "kvdb"
	// KindOutgoingRedis is the kind of outgoing Redis connections.
	KindOutgoingRedis = "outgoing_redis"
	// KindCache is the kind of built-in caches; the name "" is the
	// default cache.
	KindCache = "cache_builtin"
)

// KVResult is the reply to one command: Val is nil (a missing value), a
// string, an int64 or a []any of these; Err is the server's refusal of
// the command (a wrong type, say).
type KVResult struct {
	Val any
	Err error
}

// KVDoer runs Redis commands: what the platform returns for KindKVDB and
// KindOutgoingRedis. Commands of one call run in one round trip (one
// transaction on the embedded store); the error returned means none
// could run.
type KVDoer interface {
	Do(ctx context.Context, cmds ...[]string) ([]KVResult, error)
}

// KV is a key-value connection as a Go service uses it: the same
// commands whether the embedded store or Redis runs them. Each call looks
// the connection up in the configuration current at that moment.
type KV struct {
	c          *Context
	kind, name string
}

// KVDB returns the server's key-value database: Zato's self.kvdb.conn.
func (c *Context) KVDB() *KV { return &KV{c: c, kind: KindKVDB} }

// Redis returns the outgoing Redis connection with a name:
// self.out.redis["name"].conn.
func (o Out) Redis(name string) *KV { return &KV{c: o.c, kind: KindOutgoingRedis, name: name} }

// Do runs one command, such as Do("HSET", "user:1", "name", "Jane"), and
// returns its reply; a refused command is its error.
func (k *KV) Do(args ...string) (any, error) {
	res, err := k.Pipeline([][]string{args})
	if err != nil {
		return nil, err
	}
	return res[0].Val, res[0].Err
}

// Pipeline runs commands in one round trip and returns their replies.
func (k *KV) Pipeline(cmds [][]string) ([]KVResult, error) {
	d, err := Resource[KVDoer](k.c, k.kind, k.name)
	if err != nil {
		return nil, err
	}
	ctx := context.Context(k.c)
	if k.c.Context == nil {
		ctx = context.Background()
	}
	return d.Do(ctx, cmds...)
}

// Get returns a key's value and whether it exists.
func (k *KV) Get(key string) (string, bool, error) {
	v, err := k.Do("GET", key)
	s, ok := v.(string)
	return s, ok, err
}

// Set sets a key's value; an expiry above zero makes it expire after that
// long (whole milliseconds).
func (k *KV) Set(key, value string, expiry time.Duration) error {
	args := []string{"SET", key, value}
	if expiry > 0 {
		args = append(args, "PX", strconv.FormatInt(max(expiry.Milliseconds(), 1), 10))
	}
	_, err := k.Do(args...)
	return err
}

// Incr adds by to a counter and returns its new value.
func (k *KV) Incr(key string, by int64) (int64, error) {
	return k.int(k.Do("INCRBY", key, strconv.FormatInt(by, 10)))
}

// Delete deletes keys and returns how many existed.
func (k *KV) Delete(keys ...string) (int64, error) {
	return k.int(k.Do(append([]string{"DEL"}, keys...)...))
}

// Expire makes a key expire after d and reports whether it exists.
func (k *KV) Expire(key string, d time.Duration) (bool, error) {
	n, err := k.int(k.Do("PEXPIRE", key, strconv.FormatInt(d.Milliseconds(), 10)))
	return n == 1, err
}

// HSet sets fields of a hash and returns how many were new.
func (k *KV) HSet(key string, fields map[string]string) (int64, error) {
	if len(fields) == 0 {
		return 0, errors.New("HSet: no fields")
	}
	args := []string{"HSET", key}
	for f, v := range fields {
		args = append(args, f, v)
	}
	return k.int(k.Do(args...))
}

// HGetAll returns a hash's fields.
func (k *KV) HGetAll(key string) (map[string]string, error) {
	v, err := k.Do("HGETALL", key)
	if err != nil {
		return nil, err
	}
	list, _ := v.([]any)
	out := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		f, _ := list[i].(string)
		out[f], _ = list[i+1].(string)
	}
	return out, nil
}

func (k *KV) int(v any, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("the server answered %T, not an integer", v)
	}
	return n, nil
}
