package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"

	"github.com/eclipse/paho.golang/paho"
	mqtt3 "github.com/eclipse/paho.mqtt.golang"
)

// Protocol versions, as protocol_version spells them.
const (
	Version5   = "5"
	Version311 = "3.1.1"
)

// connect311 connects with MQTT 3.1.1 and sends CONNECT; lost is closed
// when the connection is lost. Messages received go to onMessage, one at
// a time (it blocking holds the connection's reader: back-pressure), and
// are acknowledged when their Ack is called.
func (e endpoint) connect311(cleanSession bool, onMessage func(mqtt3.Message)) (mqtt3.Client, <-chan struct{}, error) {
	u, err := url.Parse(e.address)
	if err != nil {
		return nil, nil, err
	}
	secure := u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts"
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[bool]string{false: "1883", true: "8883"}[secure])
	}
	opts := mqtt3.NewClientOptions().SetClientID(e.clientID).SetKeepAlive(e.keepAlive).SetCleanSession(cleanSession).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(dialTimeout).SetProtocolVersion(4).
		SetOrderMatters(true).SetAutoAckDisabled(true)
	if secure {
		opts.AddBroker("ssl://" + host).SetTLSConfig(&tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12})
	} else {
		opts.AddBroker("tcp://" + host)
	}
	if e.username != "" {
		opts.SetUsername(e.username).SetPassword(e.password)
	}
	lost := make(chan struct{})
	var once sync.Once
	opts.SetConnectionLostHandler(func(mqtt3.Client, error) { once.Do(func() { close(lost) }) })
	if onMessage != nil {
		opts.SetDefaultPublishHandler(func(_ mqtt3.Client, m mqtt3.Message) { onMessage(m) })
	}
	c := mqtt3.NewClient(opts)
	t := c.Connect()
	if !t.WaitTimeout(dialTimeout) {
		return nil, nil, fmt.Errorf("connecting to %s: no answer within %s", e.address, dialTimeout)
	}
	if err := t.Error(); err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", e.address, err)
	}
	return c, lost, nil
}

// subscribe311 subscribes to a filter, with the client's default handler.
func subscribe311(c mqtt3.Client, filter string, qos byte) error {
	t := c.Subscribe(filter, qos, nil)
	if !t.WaitTimeout(dialTimeout) {
		return fmt.Errorf("subscribing to %q: no answer within %s", filter, dialTimeout)
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("subscribing to %q: %w", filter, err)
	}
	if code := t.(*mqtt3.SubscribeToken).Result()[filter]; code >= 0x80 {
		return fmt.Errorf("the broker refused the subscription to %q", filter)
	}
	return nil
}

// link311 publishes dead letters over MQTT 3.1.1, which has no
// properties: the reason a message failed is in the log only.
type link311 struct{ c mqtt3.Client }

func (l link311) publish(ctx context.Context, p *paho.Publish) error {
	return publish311(ctx, l.c, p)
}

// publish311 publishes and waits for the broker's acknowledgement as the
// message's QoS says, until ctx ends.
func publish311(ctx context.Context, c mqtt3.Client, p *paho.Publish) error {
	t := c.Publish(p.Topic, p.QoS, p.Retain, p.Payload)
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errLost says the connection was lost before the broker acknowledged a
// message.
var errLost = errors.New("the connection to the broker was lost")
