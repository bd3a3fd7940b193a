package dispatch

import (
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// ResponseCache says how a channel keeps its replies in a cache, so that
// a repeated request is answered without running the service.
type ResponseCache struct {
	// Cache names the cache_builtin the replies are kept in.
	Cache string
	// Expiry is how long a reply is kept; 0 takes the cache's default.
	Expiry time.Duration
	// Headers are the request headers whose values tell replies apart,
	// besides the path and the query string (Accept, Accept-Language…).
	Headers []string
}

// ReplyStore is a cache as the pipeline keeps replies in it: the running
// form of kind cache_builtin.
type ReplyStore interface {
	Get(key string) (any, bool)
	SetSized(key string, value any, size int64, expiry time.Duration) error
	// CountReply counts a channel's lookup, a hit or a miss.
	CountReply(channel string, hit bool)
}

// CacheHeader says whether a reply came from the channel's cache: hit or
// miss. Replies of channels without a cache do not carry it.
const CacheHeader = "X-Plexus-Cache"

// ResponseKeyPrefix returns the start of the keys of a channel's replies
// in its cache: deleting the keys with this prefix (delete_by_prefix)
// drops them all.
func ResponseKeyPrefix(channel string) string { return "channel:" + channel + ":" }

// cachedReply is a reply as a cache keeps it. It is never changed once
// stored.
type cachedReply struct {
	status                       int
	body                         []byte
	contentType, contentEncoding string
	headers                      textproto.MIMEHeader
}

// notCached are the reply headers a cached reply does not repeat: those
// of one request, and cookies.
var notCached = map[string]bool{"X-Plexus-Cid": true, "Set-Cookie": true, "X-Ratelimit-Limit": true, "X-Ratelimit-Remaining": true, CacheHeader: true}

// errCached stops the stages of a request answered from the cache.
var errCached = errorString("answered from the cache")

type errorString string

func (e errorString) Error() string { return string(e) }

// lookUp is the stage that answers a GET or HEAD from the channel's cache
// when its reply is there; after the security stages, so a cached reply
// is only given to callers the channel admits. A cache that is missing
// or inactive leaves the request uncached.
func (p *Pipeline) lookUp(x *Exchange) error {
	rc := x.Channel.Cache
	if rc == nil || x.Verb != http.MethodGet && x.Verb != http.MethodHead {
		return nil
	}
	resolve := registry.Resolver(service.KindCache)
	if resolve == nil {
		return nil
	}
	v, err := resolve(x.state, rc.Cache)
	if err != nil {
		p.Logger.Warn("channel's response cache is not available", "cid", x.CID, "channel", x.Channel.Name, "cache", rc.Cache, "error", err)
		return nil
	}
	store, ok := v.(ReplyStore)
	if !ok {
		return nil
	}
	key := responseKey(x, rc)
	cv, hit := store.Get(key)
	store.CountReply(x.Channel.Name, hit)
	if r, ok := cv.(*cachedReply); hit && ok {
		x.Reply.Status, x.Reply.Body, x.Reply.ContentType, x.Reply.ContentEncoding = r.status, r.body, r.contentType, r.contentEncoding
		h := x.Reply.header()
		for k, vs := range r.headers {
			h[k] = vs
		}
		h.Set(CacheHeader, "hit")
		return errCached
	}
	x.Reply.header().Set(CacheHeader, "miss")
	x.cacheKey, x.cacheStore = key, store
	return nil
}

// responseKey is the key of a request's reply: the channel, the path, the
// query string with its parameters sorted, and the chosen headers.
func responseKey(x *Exchange, rc *ResponseCache) string {
	var b strings.Builder
	b.WriteString(ResponseKeyPrefix(x.Channel.Name))
	b.WriteString(x.Path)
	if x.Query != "" {
		params := strings.Split(x.Query, "&")
		sort.Strings(params)
		b.WriteByte('?')
		b.WriteString(strings.Join(params, "&"))
	}
	for _, h := range rc.Headers {
		b.WriteByte('\n')
		b.WriteString(textproto.CanonicalMIMEHeaderKey(h))
		b.WriteByte(':')
		b.WriteString(strings.Join(x.Headers.Values(h), ","))
	}
	return b.String()
}

// remember is the stage that keeps a successful reply of a request the
// cache missed.
func (p *Pipeline) remember(x *Exchange) error {
	if x.cacheStore == nil || x.Reply.Status < 200 || x.Reply.Status > 299 {
		return nil
	}
	r := &cachedReply{status: x.Reply.Status, body: append([]byte(nil), x.Reply.Body...),
		contentType: x.Reply.ContentType, contentEncoding: x.Reply.ContentEncoding, headers: textproto.MIMEHeader{}}
	size := int64(len(r.body)+len(x.cacheKey)) + 64
	for k, vs := range x.Reply.Headers {
		if !notCached[k] {
			r.headers[k] = append([]string(nil), vs...)
			size += int64(len(k) + len(strings.Join(vs, "")))
		}
	}
	expiry := x.Channel.Cache.Expiry
	if expiry == 0 {
		expiry = service.CacheDefaultExpiry
	}
	if err := x.cacheStore.SetSized(x.cacheKey, r, size, expiry); err != nil {
		p.Logger.Warn("reply not cached", "cid", x.CID, "channel", x.Channel.Name, "error", err)
	}
	return nil
}
