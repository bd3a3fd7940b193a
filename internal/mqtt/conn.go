package mqtt

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// dialTimeout bounds connecting to the broker, the TCP (and TLS)
// handshake and MQTT's CONNECT.
const dialTimeout = 10 * time.Second

// endpoint is where an object connects, and as whom.
type endpoint struct {
	address, username, password, clientID string
	keepAlive                             time.Duration
}

// session says how a client connects: its session and what it receives.
type session struct {
	cleanStart bool
	expiry     time.Duration
	receiveMax int
	onPublish  func(paho.PublishReceived) (bool, error)
	state      *state.State // kept across connections, for QoS 1 and 2
}

// connect dials the broker and sends CONNECT; the client is closed (Done)
// when the connection is lost.
func (e endpoint) connect(ctx context.Context, s session) (*paho.Client, error) {
	u, err := url.Parse(e.address)
	if err != nil {
		return nil, err
	}
	host := u.Host
	secure := u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts"
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[bool]string{false: "1883", true: "8883"}[secure])
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var conn net.Conn
	d := &net.Dialer{}
	if secure {
		conn, err = (&tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", e.address, err)
	}
	cfg := paho.ClientConfig{ClientID: e.clientID, Conn: packets.NewThreadSafeConn(conn), EnableManualAcknowledgment: s.onPublish != nil,
		SendAcksInterval: 10 * time.Millisecond}
	if s.state != nil {
		cfg.Session = s.state
	}
	if s.onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){s.onPublish}
	}
	c := paho.NewClient(cfg)
	cp := &paho.Connect{ClientID: e.clientID, KeepAlive: uint16(e.keepAlive / time.Second), CleanStart: s.cleanStart,
		Properties: &paho.ConnectProperties{}}
	if e.username != "" {
		cp.Username, cp.UsernameFlag = e.username, true
		cp.Password, cp.PasswordFlag = []byte(e.password), e.password != ""
	}
	if !s.cleanStart {
		exp := uint32(s.expiry / time.Second)
		cp.Properties.SessionExpiryInterval = &exp
	}
	if s.receiveMax > 0 {
		rm := uint16(min(s.receiveMax, 65535))
		cp.Properties.ReceiveMaximum = &rm
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		if ca != nil && ca.ReasonCode != 0 {
			return nil, fmt.Errorf("the broker refused the connection: %s (reason %d)", ca.Properties.ReasonString, ca.ReasonCode)
		}
		return nil, fmt.Errorf("connecting to %s: %w", e.address, err)
	}
	return c, nil
}

// disconnectClient says goodbye to the broker and waits for the client to
// stop.
func disconnectClient(c *paho.Client) {
	c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
	}
}
