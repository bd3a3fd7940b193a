package security

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// TokenPrefix starts every Plexus session token.
const TokenPrefix = "pxs1."

// maxTokenLen bounds the tokens Open will look at.
const maxTokenLen = 4096

// Errors of session checks. Callers answer all of them the same way, so a
// client cannot tell an expired token from a forged one.
var (
	ErrBadToken  = errors.New("not a valid session token")
	ErrNoSession = errors.New("the session has ended or was revoked")
)

// Sessions keeps the sessions of jwt definitions: a log-in creates one and
// returns its token; every request it authenticates moves its expiry ttl
// ahead (sliding expiry); a log-out revokes it.
//
// A token is opaque: its claims (session id, definition, username, time
// of issue) sealed with AES-256-GCM under a key derived from the server
// key, so it can be neither read nor forged without the server key, and
// rotating the server key ends every session. Sessions are rows of the
// store's jwt_sessions table, keyed by the SHA-256 of the session id, so a
// restart keeps them and the table alone gives no usable token.
//
// The hot path is in memory: a session checked within the last
// recheckEvery is not read again, and its moved expiry is written behind
// by a background flush. A revocation on this node takes effect at once;
// one made by another node sharing a PostgreSQL store, within
// recheckEvery. It is safe for concurrent use.
type Sessions struct {
	db     *sql.DB
	rebind func(string) string
	aead   cipher.AEAD
	log    *slog.Logger
	// now is the clock, replaced in tests.
	now          func() time.Time
	recheckEvery time.Duration
	flushEvery   time.Duration

	mu    sync.Mutex
	cache map[string]*session
	stop  chan struct{}
	done  chan struct{}
}

type session struct {
	def, user string
	ttl       time.Duration
	expires   time.Time
	flushed   time.Time // the expiry the store holds
	checked   time.Time // last read from the store
}

// claims are what a token carries.
type claims struct {
	SID string `json:"sid"`
	Def string `json:"def"`
	Sub string `json:"sub"`
	IAT int64  `json:"iat"`
}

// NewSessions returns the sessions kept in db (the store's database, with
// its placeholder rebinding) with tokens sealed under a key derived from
// the server key. Call Start to run the background flush and Close to
// stop it.
func NewSessions(db *sql.DB, rebind func(string) string, serverKey []byte, log *slog.Logger) (*Sessions, error) {
	key, err := hkdf.Key(sha256.New, serverKey, nil, "plexus jwt sessions v1", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the session key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("deriving the session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("deriving the session key: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if rebind == nil {
		rebind = func(q string) string { return q }
	}
	return &Sessions{
		db: db, rebind: rebind, aead: aead, log: log, now: time.Now,
		recheckEvery: 10 * time.Second, flushEvery: time.Second,
		cache: map[string]*session{},
	}, nil
}

// Start runs the background flush of moved expiries until Close.
func (s *Sessions) Start() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.flushEvery)
		defer t.Stop()
		lastSweep := s.now()
		for {
			select {
			case <-s.stop:
				s.flush()
				return
			case <-t.C:
				s.flush()
				if now := s.now(); now.Sub(lastSweep) > time.Minute {
					lastSweep = now
					s.sweep(now)
				}
			}
		}
	}()
}

// Close stops the background flush after writing what it holds.
func (s *Sessions) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	return nil
}

// Create starts a session for a definition's username and returns its
// token and expiry.
func (s *Sessions) Create(ctx context.Context, def, user string, ttl time.Duration) (string, time.Time, error) {
	now := s.now()
	sid := make([]byte, 16)
	rand.Read(sid)
	c := claims{SID: hex.EncodeToString(sid), Def: def, Sub: user, IAT: now.Unix()}
	token := s.seal(c)
	expires := now.Add(ttl)
	_, err := s.db.ExecContext(ctx, s.rebind("INSERT INTO jwt_sessions (id, definition, username, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"),
		sessionID(c.SID), def, user, now.UnixMilli(), expires.UnixMilli())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("creating session: %w", err)
	}
	s.mu.Lock()
	s.cache[sessionID(c.SID)] = &session{def: def, user: user, ttl: ttl, expires: expires, flushed: expires, checked: now}
	s.mu.Unlock()
	return token, expires, nil
}

// Check admits a token of a definition's session that has not expired and
// moves its expiry to ttl from now.
func (s *Sessions) Check(ctx context.Context, token, def, user string, ttl time.Duration, now time.Time) error {
	c, err := s.open(token)
	if err != nil {
		return err
	}
	if c.Def != def || c.Sub != user {
		return ErrBadToken
	}
	id := sessionID(c.SID)
	s.mu.Lock()
	e := s.cache[id]
	if e != nil && now.Sub(e.checked) < s.recheckEvery {
		err := e.use(now, ttl)
		if err != nil {
			delete(s.cache, id)
		}
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()

	var dbDef, dbUser string
	var expMS int64
	err = s.db.QueryRowContext(ctx, s.rebind("SELECT definition, username, expires_at FROM jwt_sessions WHERE id = ?"), id).Scan(&dbDef, &dbUser, &expMS)
	if errors.Is(err, sql.ErrNoRows) {
		s.mu.Lock()
		delete(s.cache, id)
		s.mu.Unlock()
		return ErrNoSession
	}
	if err != nil {
		return fmt.Errorf("reading session: %w", err)
	}
	if dbDef != def || dbUser != user {
		return ErrBadToken
	}
	stored := time.UnixMilli(expMS)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e = s.cache[id]; e == nil {
		e = &session{def: def, user: user}
		s.cache[id] = e
	}
	if stored.After(e.expires) {
		e.expires = stored
	}
	e.flushed, e.checked = stored, now
	if err := e.use(now, ttl); err != nil {
		delete(s.cache, id)
		return err
	}
	return nil
}

// use admits the session at now if it has not expired, and slides its
// expiry; s.mu is held.
func (e *session) use(now time.Time, ttl time.Duration) error {
	if !now.Before(e.expires) {
		return ErrNoSession
	}
	e.ttl = ttl
	if next := now.Add(ttl); next.After(e.expires) {
		e.expires = next
	}
	return nil
}

// Revoke ends the session of a token; it reports whether there was one.
func (s *Sessions) Revoke(ctx context.Context, token string) (bool, error) {
	c, err := s.open(token)
	if err != nil {
		return false, err
	}
	id := sessionID(c.SID)
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM jwt_sessions WHERE id = ?"), id)
	if err != nil {
		return false, fmt.Errorf("revoking session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// flush writes the expiries that moved by more than a tenth of their ttl
// (at most 30 seconds) since last written: a crash loses no more of a
// session's life than that.
func (s *Sessions) flush() {
	type write struct {
		id      string
		expires time.Time
	}
	var writes []write
	s.mu.Lock()
	for id, e := range s.cache {
		if e.expires.Sub(e.flushed) >= min(e.ttl/10, 30*time.Second) && e.expires.After(e.flushed) {
			writes = append(writes, write{id, e.expires})
		}
	}
	s.mu.Unlock()
	if len(writes) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, w := range writes {
		ms := w.expires.UnixMilli()
		if _, err := s.db.ExecContext(ctx, s.rebind("UPDATE jwt_sessions SET expires_at = ? WHERE id = ? AND expires_at < ?"), ms, w.id, ms); err != nil {
			s.log.Warn("writing session expiry", "error", err.Error())
			return
		}
		s.mu.Lock()
		if e := s.cache[w.id]; e != nil && e.flushed.Before(w.expires) {
			e.flushed = w.expires
		}
		s.mu.Unlock()
	}
}

// sweep forgets expired sessions, in memory and in the store.
func (s *Sessions) sweep(now time.Time) {
	s.mu.Lock()
	for id, e := range s.cache {
		if !now.Before(e.expires) {
			delete(s.cache, id)
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM jwt_sessions WHERE expires_at < ?"), now.UnixMilli()); err != nil {
		s.log.Warn("deleting expired sessions", "error", err.Error())
	}
}

// seal makes a token of claims.
func (s *Sessions) seal(c claims) string {
	plain, _ := json.Marshal(c)
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(TokenPrefix)))
}

// open reads the claims of a token sealed with this server's key; any
// other string is ErrBadToken.
func (s *Sessions) open(token string) (claims, error) {
	var c claims
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok || len(token) > maxTokenLen {
		return c, ErrBadToken
	}
	data, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(data) < s.aead.NonceSize()+s.aead.Overhead() {
		return c, ErrBadToken
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, data[:n], data[n:], []byte(TokenPrefix))
	if err != nil {
		return c, ErrBadToken
	}
	if err := json.Unmarshal(plain, &c); err != nil || c.SID == "" || c.Def == "" {
		return claims{}, ErrBadToken
	}
	return c, nil
}

// sessionID is the store key of a session id.
func sessionID(sid string) string {
	sum := sha256.Sum256([]byte(sid))
	return hex.EncodeToString(sum[:])
}
