//go:build unix

package wsx

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Writes to a sock whose peer does not read never wait: what the socket
// does not take becomes the backlog (starting the writer once), later
// writes queue behind it, and flush sends it all, in order.
func TestSockNeverWaits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn := <-accepted
	defer conn.Close()
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var kicked atomic.Int32
	s := &sock{Conn: conn, raw: raw, onBacklog: func() { kicked.Add(1) }}
	const chunks, size = 256, 64 << 10 // far more than the sockets' buffers hold
	for i := range chunks {
		if n, err := s.Write(bytes.Repeat([]byte{byte(i)}, size)); n != size || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if !s.pending() || kicked.Load() != 1 {
		t.Fatalf("backlog %v, writer started %d times; want a backlog and once", s.pending(), kicked.Load())
	}
	flushed := make(chan error, 1)
	go func() { flushed <- s.flush(time.Minute) }()
	got := make([]byte, size)
	for i := range chunks {
		if _, err := io.ReadFull(peer, got); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, size)) {
			t.Fatalf("chunk %d out of order", i)
		}
	}
	if err := <-flushed; err != nil || s.pending() {
		t.Fatalf("flush: %v, backlog left %v", err, s.pending())
	}
}
