package wsx

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// sock is a client's TCP connection as the WebSocket library writes to
// it: a write never waits for the client. What the socket's buffer takes
// at once is sent; the rest is kept as the backlog, which only the
// client's writer sends (waiting up to writeTimeout), and later writes
// queue behind it, so the bytes stay in order. A write therefore costs
// one system call and no goroutine hand-over, and a client that stops
// reading holds up nobody but its own writer.
//
// The backlog is bounded by the connection's use: a writer writes one
// message and then sends the backlog before the next, and the direct
// writes of broadcasts and replies are taken only while no writer runs;
// beyond one message it holds at most control frames (a ping, the close).
type sock struct {
	net.Conn
	raw syscall.RawConn

	mu       sync.Mutex
	backlog  []byte
	flushing bool  // the writer is sending what was the backlog
	err      error // the connection failed: every write fails
	// onBacklog is called when a write leaves a backlog where there was
	// none: it starts the client's writer.
	onBacklog func()
}

// Write sends what the socket takes at once and keeps the rest as the
// backlog; it fails only once the connection has.
func (s *sock) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return 0, err
	}
	if len(s.backlog) > 0 || s.flushing {
		s.backlog = append(s.backlog, p...)
		s.mu.Unlock()
		return len(p), nil
	}
	n, err := s.try(p)
	if err != nil {
		s.err = err
		s.mu.Unlock()
		return n, err
	}
	if n == len(p) {
		s.mu.Unlock()
		return n, nil
	}
	s.backlog = append(s.backlog, p[n:]...)
	kick := s.onBacklog
	s.mu.Unlock()
	if kick != nil {
		kick()
	}
	return len(p), nil
}

// pending reports whether a backlog waits to be sent.
func (s *sock) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.backlog) > 0
}

// flush sends the backlog, waiting up to timeout for the client to take
// it; writes meanwhile add to the backlog, which is sent in turn.
func (s *sock) flush(timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.backlog) > 0 && s.err == nil {
		b := s.backlog
		s.backlog, s.flushing = nil, true
		s.mu.Unlock()
		s.Conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err := s.Conn.Write(b)
		s.Conn.SetWriteDeadline(time.Time{})
		s.mu.Lock()
		s.flushing = false
		if err != nil {
			s.err = err
		}
	}
	return s.err
}

// Buffers of a sock's connection. The library reads frames through the
// read buffer (a larger message is read straight into its own buffer) and
// writes only its control frames, of at most 135 bytes, through the write
// buffer: the client's data frames are encoded and written whole by
// client.writeFrame.
const (
	sockReadBuffer  = 1024
	sockWriteBuffer = 256
)

// hijacker hands the WebSocket library the client's connection wrapped
// in a sock when it is a plain TCP connection, with buffers smaller than
// the HTTP server's (see sockReadBuffer); a TLS one is left as it is, and
// its client's messages all go through its writer.
type hijacker struct {
	http.ResponseWriter
	c *client
}

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	sc, ok := conn.(syscall.Conn)
	if !ok || !canTry {
		return conn, brw, nil
	}
	raw, err := sc.SyscallConn()
	if err != nil || brw.Writer.Buffered() > 0 {
		return conn, brw, nil
	}
	s := &sock{Conn: conn, raw: raw, onBacklog: h.c.kick}
	h.c.sock = s
	if brw.Reader.Buffered() == 0 {
		brw.Reader = bufio.NewReaderSize(s, sockReadBuffer)
	}
	brw.Writer = bufio.NewWriterSize(s, sockWriteBuffer)
	return s, brw, nil
}

func (h hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
