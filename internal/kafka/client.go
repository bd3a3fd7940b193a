package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/plexushq/plexus/internal/registry"
)

// dialTimeout bounds connecting to a broker.
const dialTimeout = 10 * time.Second

// healthEvery is how often a running object checks that the brokers
// answer, to report degraded while they do not.
const healthEvery = 2 * time.Second

// options returns the client options that reach the brokers.
func (b brokers) options(clientID string) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(b.seeds()...), kgo.ClientID(clientID), kgo.DialTimeout(dialTimeout),
		kgo.RetryBackoffFn(func(n int) time.Duration { return min(100*time.Millisecond<<min(n, 8), 5*time.Second) })}
	if b.tls {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	switch b.mechanism {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: b.username, Pass: b.password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: b.username, Pass: b.password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: b.username, Pass: b.password}.AsSha512Mechanism()))
	}
	return opts
}

// ping asks a broker for the cluster's metadata.
func ping(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := probe(ctx, cl); err != nil {
		return fmt.Errorf("reaching the brokers: %w", err)
	}
	return nil
}

// probe asks a broker for the cluster's brokers: a request the broker
// serves from its own state, so a broker that is stopping does not pass
// (an ApiVersions request, what kgo.Client.Ping sends, may still be
// answered on a connection opened before).
func probe(ctx context.Context, cl *kgo.Client) error {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // no topics: the brokers only
	_, err := req.RequestWith(ctx, cl)
	return err
}

// watch reports the object degraded while the brokers do not answer and
// running again once they do, until ctx ends: the client reconnects by
// itself.
func watch(ctx context.Context, cl *kgo.Client, st *registry.Status) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, healthEvery)
		err := probe(pctx, cl)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			down = true
			st.Degraded(fmt.Errorf("reaching the brokers: %w", err))
		case down:
			down = false
			st.Running()
		}
	}
}
