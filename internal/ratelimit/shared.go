package ratelimit

import (
	"context"
	"net/netip"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Shared keeps usage in Redis instead of in each server's memory, so that
// the servers of a cluster count one usage: limits are exact across them,
// as Zato's EXACT mode. Its Client returns the Redis client to use, or
// nil while there is none; a check that cannot reach Redis is decided
// with the server's own usage instead, and reported to OnError.
type Shared struct {
	Client  func() goredis.UniversalClient
	OnError func(error)
	// Timeout bounds one check's round trip (default 100ms).
	Timeout time.Duration
}

// take is a token bucket and a fixed window in one Redis hash, as rule.take
// keeps them in memory, on Redis's own clock so that every server's checks
// agree. KEYS[1] is the usage; ARGV: rate per second (0: none), burst,
// limit per window (0: none), window in ms, and how long idle usage is
// kept in ms. It answers {allowed, retry after ms, limit, remaining}.
var take = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'last', 'wstart', 'count')
local tokens = tonumber(h[1]) or burst
local last = tonumber(h[2]) or now
local wstart = tonumber(h[3]) or 0
local count = tonumber(h[4]) or 0
local allowed, retry, lim, remaining = 1, 0, 0, -1
if rate > 0 then
  if now > last then tokens = math.min(burst, tokens + (now - last) / 1000 * rate); last = now end
  if tokens < 1 then allowed = 0; retry = math.ceil((1 - tokens) / rate * 1000) end
  lim, remaining = burst, math.floor(tokens)
end
if limit > 0 then
  if now - wstart >= window then wstart = now - (now % window); count = 0 end
  if count >= limit then
    allowed = 0
    local w = wstart + window - now
    if w > retry then retry = w end
  end
  if remaining < 0 or limit - count < remaining then lim, remaining = limit, limit - count end
end
if allowed == 1 then
  if rate > 0 then tokens = tokens - 1 end
  if limit > 0 then count = count + 1 end
  remaining = math.max(remaining - 1, 0)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', last, 'wstart', wstart, 'count', count)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, retry, lim, remaining}
`)

// CheckShared decides as Check does, counting usage under key in Redis
// (in the hash plexus:ratelimit:ID:RULE:KEY) when sh has a client. id
// names the limiter's object, such as channel_rest/orders.
func (l *Limiter) CheckShared(ctx context.Context, sh *Shared, id, key string, addr netip.Addr, now time.Time) Decision {
	if sh == nil {
		return l.Check(key, addr, now)
	}
	i, d, count := l.match(addr)
	if !count {
		return d
	}
	client := sh.Client()
	if client == nil {
		return l.Check(key, addr, now)
	}
	r := l.rules[i]
	d, err := r.takeShared(ctx, sh, client, "plexus:ratelimit:"+id+":"+strconv.Itoa(i)+":"+key)
	if err != nil {
		if sh.OnError != nil {
			sh.OnError(err)
		}
		return r.take(l.state(i, key, now), now)
	}
	return d
}

func (r *rule) takeShared(ctx context.Context, sh *Shared, client goredis.UniversalClient, key string) (Decision, error) {
	timeout := sh.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	idle := max(r.window, time.Hour)
	if r.Rate > 0 {
		idle = max(idle, time.Duration(r.burst/r.Rate*float64(time.Second)))
	}
	res, err := take.Run(ctx, client, []string{key}, r.Rate, r.burst, r.Limit, r.window.Milliseconds(), idle.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Outcome: Allowed, Limit: int(res[2]), Remaining: int(res[3])}
	if res[0] == 0 {
		d.Outcome = Limited
		d.RetryAfter = time.Duration(res[1]) * time.Millisecond
	}
	if d.Limit == 0 {
		d.Remaining = -1
	}
	return d, nil
}
