package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/bench/internal/benchutil"
	"github.com/plexushq/plexus/bench/pubsub/sink"
)

// rabbit is RabbitMQ, driven by a bare amqp091-go program: a durable
// queue, persistent messages, each publish waiting for its publisher
// confirm, a consumer acknowledging every message manually.
type rabbit struct {
	pubConn, subConn *amqp.Connection
	channels         chan *amqp.Channel
	queue            string
	rec              sink.Recorder
}

func newRabbit(url string, publishers int) (*rabbit, error) {
	r := &rabbit{queue: "plexus-bench-pubsub-" + benchutil.RandomHex(6), channels: make(chan *amqp.Channel, publishers)}
	var err error
	if r.pubConn, err = amqp.Dial(url); err != nil {
		return nil, fmt.Errorf("connecting to RabbitMQ: %w", err)
	}
	if r.subConn, err = amqp.Dial(url); err != nil {
		r.pubConn.Close()
		return nil, fmt.Errorf("connecting to RabbitMQ: %w", err)
	}
	sub, err := r.subConn.Channel()
	if err == nil {
		_, err = sub.QueueDeclare(r.queue, true, false, false, false, nil)
	}
	if err == nil {
		err = sub.Qos(256, 0, false)
	}
	var msgs <-chan amqp.Delivery
	if err == nil {
		msgs, err = sub.Consume(r.queue, "", false, false, false, false, nil)
	}
	for i := 0; err == nil && i < publishers; i++ {
		var ch *amqp.Channel
		if ch, err = r.pubConn.Channel(); err == nil {
			if err = ch.Confirm(false); err == nil {
				r.channels <- ch
			}
		}
	}
	if err != nil {
		r.close()
		return nil, fmt.Errorf("setting up RabbitMQ: %w", err)
	}
	go func() {
		for d := range msgs {
			r.rec.Deliver(d.Body)
			d.Ack(false)
		}
	}()
	return r, nil
}

func (r *rabbit) publish(ctx context.Context, body []byte) error {
	ch := <-r.channels
	defer func() { r.channels <- ch }()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", r.queue, true, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body,
	})
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err == nil && !ok {
		err = errors.New("RabbitMQ did not confirm a publish (nack)")
	}
	return err
}

func (r *rabbit) stats(context.Context) (sink.Stats, error) { return r.rec.Stats(), nil }
func (r *rabbit) reset(context.Context) error               { r.rec.Reset(); return nil }

func (r *rabbit) close() {
	if r.subConn != nil {
		if ch, err := r.subConn.Channel(); err == nil {
			ch.QueueDelete(r.queue, false, false, false)
		}
		r.subConn.Close()
	}
	if r.pubConn != nil {
		r.pubConn.Close()
	}
}

// jetStream is NATS JetStream, driven by nats.go: a stream with file
// storage, each publish waiting for its acknowledgement, a durable
// consumer acknowledging every message explicitly.
type jetStream struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	subject string
	cc      jetstream.ConsumeContext
	rec     sink.Recorder
}

func newJetStream(ctx context.Context, url string) (*jetStream, error) {
	id := benchutil.RandomHex(6)
	j := &jetStream{stream: "PLEXUS_BENCH_PUBSUB_" + id, subject: "plexus-bench-pubsub." + id}
	var err error
	if j.nc, err = nats.Connect(url); err != nil {
		return nil, fmt.Errorf("connecting to NATS: %w", err)
	}
	if j.js, err = jetstream.New(j.nc); err != nil {
		j.close()
		return nil, err
	}
	s, err := j.js.CreateStream(ctx, jetstream.StreamConfig{Name: j.stream, Subjects: []string{j.subject}, Storage: jetstream.FileStorage})
	var cons jetstream.Consumer
	if err == nil {
		cons, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second})
	}
	if err == nil {
		j.cc, err = cons.Consume(func(m jetstream.Msg) {
			j.rec.Deliver(m.Data())
			m.Ack()
		})
	}
	if err != nil {
		j.close()
		return nil, fmt.Errorf("setting up JetStream: %w", err)
	}
	return j, nil
}

func (j *jetStream) publish(ctx context.Context, body []byte) error {
	_, err := j.js.Publish(ctx, j.subject, body)
	return err
}

func (j *jetStream) stats(context.Context) (sink.Stats, error) { return j.rec.Stats(), nil }
func (j *jetStream) reset(context.Context) error               { j.rec.Reset(); return nil }

func (j *jetStream) close() {
	if j.cc != nil {
		j.cc.Stop()
	}
	if j.js != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		j.js.DeleteStream(ctx, j.stream)
		cancel()
	}
	j.nc.Close()
}
