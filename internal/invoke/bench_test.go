package invoke_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// BenchmarkInvokeAsync measures starting a background invocation of a
// service that does nothing, and running it: each loop waits for its
// invocation to end, so the bound on background work is never reached.
func BenchmarkInvokeAsync(b *testing.B) {
	var wg sync.WaitGroup
	s := servertest.Start(b, servertest.Options{Services: []any{
		service.Func("b.noop", "", func(*service.Context) error { wg.Done(); return nil }),
	}})
	c := s.Invoker.NewContext(context.Background(), "0123456789abcdef01234567", "b.caller", service.Channel{Type: service.ChannelREST})
	b.ReportAllocs()
	for b.Loop() {
		wg.Add(1)
		if _, err := s.Invoker.InvokeAsync(c, "b.noop", nil, service.InvokeOptions{CID: c.CID}); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Invoker.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
