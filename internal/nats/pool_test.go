package nats

import (
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/testenv"
)

// Objects acquiring the same server's connection at once get one
// connection (those that dialled meanwhile close theirs); it stays open
// while any holds it and closes when the last lets go; another user or
// another address gets another.
func TestSharedConnectionUsers(t *testing.T) {
	url := testenv.Value(t, "PLEXUS_TEST_NATS", "a NATS URL such as nats://127.0.0.1:4222")
	e := endpointOf(ChannelKind, "pool", url, "", "", "")
	const users = 8
	conns := make([]*connection, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.acquire()
			if err != nil {
				t.Error(err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range conns {
		if c != conns[0] {
			t.Fatal("users of one server and user got different connections")
		}
	}
	other, err := endpointOf(OutgoingKind, "pool", url, "", "", "tok").acquire()
	if err != nil {
		t.Fatal(err)
	}
	if other == conns[0] {
		t.Error("a user with another token got the same connection")
	}
	other.release(time.Second)
	for _, c := range conns[1:] {
		c.release(time.Second)
		if c.nc.IsClosed() {
			t.Fatal("the connection closed while a user holds it")
		}
	}
	if err := conns[0].nc.Flush(); err != nil {
		t.Fatalf("the last user's connection does not work: %v", err)
	}
	conns[0].release(time.Second)
	select {
	case <-conns[0].closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed open once its last user let go")
	}
	shared.mu.Lock()
	n := len(shared.conns)
	shared.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections still shared", n)
	}

	// A lost connection is not handed out again.
	c, err := e.acquire()
	if err != nil {
		t.Fatal(err)
	}
	c.nc.Close()
	<-c.closed
	d, err := e.acquire()
	if err != nil {
		t.Fatal(err)
	}
	if d == c || d.nc.IsClosed() {
		t.Error("a closed connection was handed out")
	}
	c.release(0)
	d.release(0)
}
