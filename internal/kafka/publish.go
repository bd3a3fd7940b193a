package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// publisher is the running form of an outgoing Kafka connection: its Run
// keeps a producing client, which sends produce through. It is safe for
// concurrent use.
type publisher struct {
	cfg *Outgoing
	b   brokers

	client *broker.Session[*kgo.Client]
}

func provisionOutgoing(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	b, err := cfg.brokers().login(env, cfg.Security)
	if err != nil {
		return nil, err
	}
	return &publisher{cfg: cfg, b: b,
		client: broker.NewSession[*kgo.Client](fmt.Sprintf("outgoing Kafka connection %q: the brokers could not be reached in time", cfg.Name), nil)}, nil
}

// options returns the producing client's options: idempotent (the
// default), every in-sync replica acknowledging, records sent at once.
func (p *publisher) options() []kgo.Opt {
	opts := append(p.b.options("plexus-out-"+p.cfg.Name), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(p.cfg.SendTimeout.D()))
	switch p.cfg.Compression {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	return opts
}

// Run keeps a client until ctx ends, reporting degraded while the brokers
// do not answer; the client reconnects by itself.
func (p *publisher) Run(ctx context.Context, st *registry.Status) error {
	if !p.cfg.IsActive {
		return nil
	}
	cl, err := kgo.NewClient(p.options()...)
	if err != nil {
		return err
	}
	if err := ping(ctx, cl); err != nil {
		cl.Close()
		return err
	}
	p.client.Up(cl)
	st.Running()
	watch(ctx, cl, st)
	p.client.Down(nil)
	cl.Close() // flushes what is buffered
	return nil
}

// SendMessage produces a record and returns once every in-sync replica
// has it, within the connection's send_timeout. The producer is
// idempotent: a record it sends again after a lost connection is written
// once.
func (p *publisher) SendMessage(ctx context.Context, m *service.OutMessage) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout.D())
	defer cancel()
	r := &kgo.Record{Topic: p.cfg.Topic, Key: m.Key}
	if m.Topic != "" {
		r.Topic = m.Topic
	}
	if r.Topic == "" {
		return service.BadRequest("outgoing Kafka connection %q has no topic: name one in send", p.cfg.Name)
	}
	var err error
	var ctype string
	if r.Value, ctype, err = broker.Payload(m.Data); err != nil {
		return service.BadRequest("%v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(fmt.Sprint(m.Headers[k]))})
	}
	if ctype != "" && m.Headers["Content-Type"] == nil {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: "Content-Type", Value: []byte(ctype)})
	}
	if m.CID != "" {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: broker.CIDHeader, Value: []byte(m.CID)})
	}
	cl, err := p.client.Wait(ctx)
	if err != nil {
		return err
	}
	err = cl.ProduceSync(ctx, r).FirstErr()
	var ke *kerr.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrRecordTimeout):
		return service.NewError(http.StatusGatewayTimeout, "outgoing Kafka connection %q: the brokers did not acknowledge the record in time", p.cfg.Name)
	case errors.As(err, &ke):
		return service.NewError(http.StatusBadGateway, "outgoing Kafka connection %q: the brokers refused the record: %s", p.cfg.Name, ke.Message)
	}
	return service.NewError(http.StatusBadGateway, "outgoing Kafka connection %q: %v", p.cfg.Name, err)
}

func resolveOutgoing(st registry.State, name string) (any, error) {
	v, ok := st.Running(OutgoingKind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing Kafka connection named %q", name)
		if s := registry.Suggest(name, st.Names(OutgoingKind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	p := v.(*publisher)
	if !p.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing Kafka connection %q is inactive", name)
	}
	return p, nil
}

// starlarkOutgoing is self.out.kafka["Name"] of a Starlark service:
// send(data, topic=None, key=None, headers=None, cid=None) produces and
// returns None once every in-sync replica has the record.
func starlarkOutgoing(c *service.Context, name string, resource any) (sl.Value, error) {
	p := resource.(*publisher)
	send := sl.NewBuiltin("send", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data, key sl.Value = nil, sl.None
		var topic, id string
		var headers *sl.Dict
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data", &data, "topic?", &topic, "key?", &key,
			"headers?", &headers, "cid?", &id); err != nil {
			return nil, err
		}
		m := &service.OutMessage{SendOptions: service.SendOptions{Topic: topic, CID: id}}
		switch k := key.(type) {
		case sl.NoneType:
		case sl.String:
			m.Key = []byte(k)
		case sl.Bytes:
			m.Key = []byte(k)
		default:
			return nil, fmt.Errorf("%s: key: want a string or bytes, not %s", b.Name(), key.Type())
		}
		return broker.Send(th, b.Name(), c, p, m, data, headers)
	})
	return starlarkstruct.FromStringDict(sl.String("kafka"), sl.StringDict{"name": sl.String(name), "send": send}), nil
}

// pingAction connects to the brokers anew and says whether they answered.
var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Connects to the brokers, as the connection does, and answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		p := call.Running.(*publisher)
		start := time.Now()
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: p.cfg.Address}
		cl, err := kgo.NewClient(p.b.options("plexus-ping-" + p.cfg.Name)...)
		if err == nil {
			err = ping(ctx, cl)
			cl.Close()
		}
		if err == nil {
			res.OK = true
		} else {
			res.Error = err.Error()
		}
		res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
		return res, nil
	},
}
