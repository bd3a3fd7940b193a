package wsx

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
)

// Actions of Zato's WSX protocol, client to server.
const (
	actionCreateSession  = "create-session"
	actionInvokeService  = "invoke-service"
	actionClientResponse = "client-response"
	actionPublish        = "publish" // publish data to meta.topic (pubsub.go)
)

// Message types of Zato's WSX protocol, server to client.
const (
	msgSessionCreated = "zwsx.rspa"  // create-session succeeded
	msgOK             = "zwsx.rspok" // the service's response
	msgError          = "zwsx.rsperr"
	msgFatal          = "zwsx.merr" // unsolicited error; the connection closes
	msgRequest        = "zwsx.rqc"  // the server's request or broadcast to the client
	msgPubSub         = "zwsx.psrq" // a pub/sub message pushed to the client, which answers with client-response
)

// Bodies Zato answers to what it cannot read.
var (
	badRequestBody   = []byte(`{"error":"Bad request"}`)
	forbiddenMessage = "You are not authorized to access this resource"
)

// request is a client's message in Zato's protocol.
type request struct {
	Action     string
	ID         string
	Token      string
	Username   string
	Secret     string
	ClientID   string
	ClientName string
	InReplyTo  string
	// Publish's: the topic and the message's options.
	Topic       string
	Priority    *int
	Expiration  *float64
	CorrelID    string
	ExtClientID string
	// Data is the message's data as JSON, nil when absent.
	Data json.RawMessage
}

// errNotZato is the error of a message that is not {"meta": {…}, "data": …}.
var errNotZato = errors.New(`not a {"meta": {…}, "data": …} message`)

// parseRequest reads a client's message. An absent action is
// client-response, as in Zato; client_name may be a string or any JSON
// value, which is kept as its JSON text.
func parseRequest(b []byte) (*request, error) {
	var in struct {
		Meta *struct {
			Action     string          `json:"action"`
			ID         json.RawMessage `json:"id"`
			Token      string          `json:"token"`
			Username   string          `json:"username"`
			Secret     string          `json:"secret"`
			ClientID   string          `json:"client_id"`
			ClientName json.RawMessage `json:"client_name"`
			InReplyTo  string          `json:"in_reply_to"`
			Topic      string          `json:"topic"`
			Priority   json.RawMessage `json:"priority"`
			Expiration *float64        `json:"expiration"`
			CorrelID   string          `json:"correl_id"`
			ExtClient  string          `json:"ext_client_id"`
		} `json:"meta"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	if in.Meta == nil {
		return nil, errNotZato
	}
	m := in.Meta
	r := &request{Action: m.Action, Token: m.Token, Username: m.Username, Secret: m.Secret,
		ClientID: m.ClientID, InReplyTo: m.InReplyTo, ID: textOf(m.ID), ClientName: textOf(m.ClientName),
		Topic: m.Topic, Expiration: m.Expiration, CorrelID: m.CorrelID, ExtClientID: m.ExtClient}
	// As in Zato, a priority that is not a whole number is the default.
	var prio int
	if json.Unmarshal(m.Priority, &prio) == nil {
		r.Priority = &prio
	}
	if r.Action == "" {
		r.Action = actionClientResponse
	}
	if len(in.Data) > 0 && !bytes.Equal(in.Data, []byte("null")) {
		r.Data = in.Data
	}
	return r, nil
}

// textOf returns a JSON string's value, or any other value's JSON text.
func textOf(raw json.RawMessage) string {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// meta is the meta of a server's message.
type meta struct {
	ID           string `json:"id"`
	Timestamp    string `json:"timestamp"`
	MsgType      string `json:"msg_type"`
	Status       int    `json:"status,omitempty"`
	InReplyTo    string `json:"in_reply_to,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	CID          string `json:"cid,omitempty"`
}

// zatoFrame encodes a server's message; data is JSON, or text that is
// sent as a JSON string.
func zatoFrame(m meta, data []byte) []byte {
	if m.Timestamp == "" {
		m.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000000")
	}
	var d json.RawMessage
	switch {
	case len(data) == 0:
		d = json.RawMessage("null")
	case json.Valid(data):
		d = data
	default:
		d, _ = json.Marshal(string(data))
	}
	out, _ := json.Marshal(struct {
		Meta meta            `json:"meta"`
		Data json.RawMessage `json:"data"`
	}{m, d})
	return out
}
