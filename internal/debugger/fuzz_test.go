package debugger

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/starlark"
)

func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// FuzzSession feeds a session any bytes, attached or not: it answers or
// ends, and never panics.
func FuzzSession(f *testing.F) {
	f.Add(frame(`{"seq":1,"type":"request","command":"initialize"}`) +
		frame(`{"seq":2,"type":"request","command":"attach","arguments":{"password":"x","pathMappings":[{"localRoot":"/a"}]}}`) +
		frame(`{"seq":3,"type":"request","command":"setBreakpoints","arguments":{"source":{"path":"/a/b.star"},"breakpoints":[{"line":2}]}}`) +
		frame(`{"seq":4,"type":"request","command":"threads"}`) +
		frame(`{"seq":5,"type":"request","command":"stackTrace","arguments":{"threadId":2}}`) +
		frame(`{"seq":6,"type":"request","command":"evaluate","arguments":{"expression":"1+1","frameId":3}}`) +
		frame(`{"seq":7,"type":"request","command":"variables","arguments":{"variablesReference":1}}`) +
		frame(`{"seq":8,"type":"request","command":"pause","arguments":{"threadId":1}}`) +
		frame(`{"seq":9,"type":"request","command":"disconnect"}`))
	f.Add(frame(`{"seq":1,"type":"request","command":"attach","arguments":"nope"}`))
	f.Add("Content-Length: 99999999999\r\n\r\n{")
	comp := starlark.New(config.Default().Starlark, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, data string) {
		d := New(Options{Compiler: comp, Admit: func(context.Context, netip.Addr, string) bool { return true }})
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { d.serveConn(server); close(done) }()
		go io.Copy(io.Discard, client)
		client.Write([]byte(data))
		client.Close()
		<-done
	})
}
