package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/pubsub"
)

const pubsubAPI = admin.Prefix + "/pubsub"

func (a *App) pubsubCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "pubsub",
		Short: "Publish, browse, pull, acknowledge, clear and redeliver pub/sub messages",
		Long: `Work with the publish/subscribe topics and queues of a running server: the
server of the local environment DIR (default ./plexus-env), or the one
--server names, with the admin password in ` + PasswordEnv + `.

Topics, permissions and subscriptions themselves are configuration (kinds
pubsub_topic, pubsub_permission, pubsub_subscription): create and change them
with the admin API, enmasse files or the Dashboard.`,
		Example: `  plexus pubsub topics
  plexus pubsub publish orders.new --data '{"order_id": 1}'
  plexus pubsub subscriptions
  plexus pubsub browse billing.orders
  plexus pubsub get billing.orders
  plexus pubsub redeliver billing.orders`,
	}
	c.AddCommand(a.pubsubTopicsCmd(), a.pubsubSubscriptionsCmd(), a.pubsubPublishCmd(), a.pubsubBrowseCmd(),
		a.pubsubMessageCmd(), a.pubsubGetCmd(), a.pubsubAckCmd(), a.pubsubClearCmd(), a.pubsubRedeliverCmd(),
		a.pubsubPauseCmd(true), a.pubsubPauseCmd(false))
	return c
}

// serverFlag adds --server to a command.
func serverFlag(c *cobra.Command, server *string) {
	c.Flags().StringVar(server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
}

// pubsubCall calls the admin API of the server of dir (or --server) and
// returns the body of a successful answer.
func (a *App) pubsubCall(ctx context.Context, server, dir, method, path string, body any) ([]byte, error) {
	cl, err := a.newClient(server, dir)
	if err != nil {
		return nil, err
	}
	var data []byte
	if body != nil {
		if data, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	return cl.call(ctx, method, path, data)
}

// printJSON prints an admin API answer, indented.
func (a *App) printJSON(body []byte) {
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") != nil {
		out.Reset()
		out.Write(body)
	}
	fmt.Fprintln(a.Stdout, strings.TrimSpace(out.String()))
}

// decodeAnswer decodes an admin API answer into v.
func decodeAnswer(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	return nil
}

func (a *App) pubsubTopicsCmd() *cobra.Command {
	var server string
	var asJSON bool
	c := &cobra.Command{
		Use:   "topics [DIR]",
		Short: "List the topics with their depth",
		Long: `List every topic: whether it is active, its depth (the messages waiting for
delivery to some subscription) and its max_depth, past which publishing is
refused.`,
		Example: `  plexus pubsub topics
  plexus pubsub topics --json`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 0), "GET", pubsubAPI+"/topics", nil)
			if err != nil {
				return err
			}
			if asJSON {
				a.printJSON(body)
				return nil
			}
			var list []pubsub.TopicStats
			if err := decodeAnswer(body, &list); err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Stdout, "No topics.")
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tACTIVE\tDEPTH\tMAX DEPTH")
			for _, t := range list {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", t.Name, yesNo(t.IsActive), t.Depth, t.MaxDepth)
			}
			return w.Flush()
		},
	}
	serverFlag(c, &server)
	c.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON")
	return c
}

func (a *App) pubsubSubscriptionsCmd() *cobra.Command {
	var server string
	var asJSON bool
	c := &cobra.Command{
		Use:   "subscriptions [DIR]",
		Short: "List the subscriptions with their backlog, in-flight messages and dead letters",
		Long: `List every subscription: its delivery (push or pull), its topics, its backlog
(messages waiting), the messages in flight (being delivered, or pulled and
not yet acknowledged), the age of the oldest waiting message, its dead
letters (messages whose delivery gave up; redeliver them with plexus pubsub
redeliver) and whether it is paused.`,
		Example: `  plexus pubsub subscriptions
  plexus pubsub subscriptions --json`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 0), "GET", pubsubAPI+"/subscriptions", nil)
			if err != nil {
				return err
			}
			if asJSON {
				a.printJSON(body)
				return nil
			}
			var list []pubsub.SubscriptionStats
			if err := decodeAnswer(body, &list); err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Stdout, "No subscriptions.")
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tDELIVERY\tTOPICS\tBACKLOG\tIN FLIGHT\tOLDEST\tDEAD LETTERS\tPAUSED")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", s.Name, s.DeliveryType, strings.Join(s.Topics, ","),
					s.Backlog, s.InFlight, age(s.OldestAge, s.Backlog), s.DeadLetters, yesNo(s.Paused))
			}
			return w.Flush()
		},
	}
	serverFlag(c, &server)
	c.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON")
	return c
}

// age formats the age of a queue's oldest message, in seconds.
func age(seconds float64, backlog int64) string {
	if backlog == 0 {
		return "-"
	}
	return (time.Duration(seconds * float64(time.Second))).Round(time.Second).String()
}

func (a *App) pubsubPublishCmd() *cobra.Command {
	var server, data, correlID, inReplyTo, extClientID string
	var priority int
	var expiration time.Duration
	c := &cobra.Command{
		Use:   "publish TOPIC [DIR]",
		Short: "Publish a message to a topic",
		Long: `Publish a message to a topic as the administrator and print its id once it
is durable. --data is the message, any JSON value but null; --data - reads it
from standard input. The topic's permissions do not apply; an inactive topic
refuses the message, and so does a full one (its max_depth reached).`,
		Example: `  plexus pubsub publish orders.new --data '{"order_id": 1}'
  plexus pubsub publish orders.new --data '"urgent"' --priority 9 --expiration 1h
  cat order.json | plexus pubsub publish orders.new --data -`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, pubsubAPI+"/topics"),
		RunE: func(c *cobra.Command, args []string) error {
			body := pubsub.PublishBody{CorrelID: correlID, InReplyTo: inReplyTo, ExtClientID: extClientID}
			switch data {
			case "":
				return usageError{cmd: c.CommandPath(), err: errors.New(`--data is required: the message as JSON, such as --data '{"order_id": 1}', or --data - to read it from standard input`)}
			case "-":
				b, err := io.ReadAll(io.LimitReader(a.Stdin, pubsub.MaxPayload+1))
				if err != nil {
					return fmt.Errorf("reading the message: %w", err)
				}
				body.Data = bytes.TrimSpace(b)
			default:
				body.Data = []byte(data)
			}
			if !json.Valid(body.Data) {
				return usageError{cmd: c.CommandPath(), err: errors.New(`--data is not JSON: a text message is quoted, such as --data '"hello"'`)}
			}
			if c.Flags().Changed("priority") {
				if priority < pubsub.MinPriority || priority > pubsub.MaxPriority {
					return usageError{cmd: c.CommandPath(), err: fmt.Errorf("--priority must be from %d to %d", pubsub.MinPriority, pubsub.MaxPriority)}
				}
				body.Priority = &priority
			}
			if c.Flags().Changed("expiration") {
				if expiration < time.Second {
					return usageError{cmd: c.CommandPath(), err: errors.New("--expiration must be at least 1s")}
				}
				secs := expiration.Seconds()
				body.Expiration = &secs
			}
			answer, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "POST", actionPath(pubsub.KindTopic, args[0], "publish"), body)
			if err != nil {
				return err
			}
			var res struct {
				MsgID string `json:"msg_id"`
			}
			if err := decodeAnswer(answer, &res); err != nil {
				return err
			}
			fmt.Fprintln(a.Stdout, res.MsgID)
			return nil
		},
	}
	serverFlag(c, &server)
	c.Flags().StringVar(&data, "data", "", "the message as JSON; - reads it from standard input")
	c.Flags().IntVar(&priority, "priority", pubsub.DefaultPriority, "priority from 0 to 9; higher is delivered first")
	c.Flags().DurationVar(&expiration, "expiration", 0, "how long the message is kept for delivery, such as 1h (default: the topic's)")
	c.Flags().StringVar(&correlID, "correl-id", "", "correlation id (default: the call's cid)")
	c.Flags().StringVar(&inReplyTo, "in-reply-to", "", "id of the message this one answers")
	c.Flags().StringVar(&extClientID, "ext-client-id", "", "the publisher's own id for the message")
	return c
}

func (a *App) pubsubBrowseCmd() *cobra.Command {
	var server string
	var asJSON, dead bool
	var offset, limit int
	c := &cobra.Command{
		Use:   "browse SUBSCRIPTION [DIR]",
		Short: "List the messages of a subscription's queue, or its dead letters",
		Long: `List the messages of a subscription's queue in delivery order (priority, then
publication), without their data: id, priority, state (queued or in_flight),
delivery attempts, when each was published, its topic and the last delivery
error. --dead lists the dead letters instead. --limit (at most 1000) and
--offset page through a long queue; plexus pubsub message ID shows one
message with its data.`,
		Example: `  plexus pubsub browse billing.orders
  plexus pubsub browse billing.orders --dead
  plexus pubsub browse billing.orders --offset 100 --limit 100 --json`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, pubsubAPI+"/subscriptions"),
		RunE: func(c *cobra.Command, args []string) error {
			if limit < 1 || limit > pubsub.MaxPage || offset < 0 {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("--limit must be from 1 to %d and --offset at least 0", pubsub.MaxPage)}
			}
			q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
			if dead {
				q.Set("state", pubsub.StateDead)
			}
			path := pubsubAPI + "/subscriptions/" + url.PathEscape(args[0]) + "/messages?" + q.Encode()
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "GET", path, nil)
			if err != nil {
				return err
			}
			if asJSON {
				a.printJSON(body)
				return nil
			}
			var page pubsub.Page
			if err := decodeAnswer(body, &page); err != nil {
				return err
			}
			what := "messages in the queue"
			if dead {
				what = "dead letters"
			}
			if len(page.Messages) == 0 {
				fmt.Fprintf(a.Stdout, "No %s (%d in all).\n", what, page.Total)
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "MSG ID\tPRIORITY\tSTATE\tATTEMPTS\tPUBLISHED (UTC)\tTOPIC\tLAST ERROR")
			for _, m := range page.Messages {
				pub := m.PubTime
				fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Priority, m.State, m.DeliveryCount, when(&pub), m.Topic, dash(oneLine(m.LastError)))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "%d-%d of %d %s\n", offset+1, offset+len(page.Messages), page.Total, what)
			return nil
		},
	}
	serverFlag(c, &server)
	c.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON")
	c.Flags().BoolVar(&dead, "dead", false, "list the dead letters instead of the queue")
	c.Flags().IntVar(&offset, "offset", 0, "messages skipped")
	c.Flags().IntVar(&limit, "limit", 50, "most messages listed, at most 1000")
	return c
}

// messages counts messages in words: "1 message", "2 messages".
func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return strconv.Itoa(n) + " messages"
}

// oneLine keeps the first line of an error, at most 80 characters.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func (a *App) pubsubMessageCmd() *cobra.Command {
	var server string
	c := &cobra.Command{
		Use:   "message MSG_ID [DIR]",
		Short: "Show one message, its data and its deliveries",
		Long: `Print one message as JSON: its data, priority, publisher, times, and its
delivery to every subscription whose queue still holds it (state, attempts,
last error, next attempt).`,
		Example: `  plexus pubsub message zpsm0193a4b2c3d4e5f6a7b8c9d0e1f2a3b4`,
		Args:    rangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "GET", pubsubAPI+"/messages/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return err
			}
			a.printJSON(body)
			return nil
		},
	}
	serverFlag(c, &server)
	return c
}

func (a *App) pubsubGetCmd() *cobra.Command {
	var server string
	var maxMessages, maxLen int
	c := &cobra.Command{
		Use:   "get SUBSCRIPTION [DIR]",
		Short: "Pull messages from a subscription and print them as JSON",
		Long: `Pull a subscription's next messages, in order of priority then publication,
as its client would with POST /pubsub/messages/get, and print them as JSON.
With the subscription's ack auto this removes them from the queue; with ack
explicit they stay in flight until plexus pubsub ack (or until their
visibility timeout returns them).`,
		Example: `  plexus pubsub get billing.orders
  plexus pubsub get billing.orders --max-messages 10`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, pubsubAPI+"/subscriptions"),
		RunE: func(c *cobra.Command, args []string) error {
			if maxMessages < 1 || maxMessages > pubsub.MaxGetMessages {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("--max-messages must be from 1 to %d", pubsub.MaxGetMessages)}
			}
			if maxLen < 1 || maxLen > pubsub.MaxGetLen {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("--max-len must be from 1 to %d", pubsub.MaxGetLen)}
			}
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "POST", actionPath(pubsub.KindSubscription, args[0], "get"),
				pubsub.GetBody{MaxMessages: maxMessages, MaxLen: maxLen})
			if err != nil {
				return err
			}
			a.printJSON(body)
			return nil
		},
	}
	serverFlag(c, &server)
	c.Flags().IntVar(&maxMessages, "max-messages", pubsub.DefaultGetMessages, "most messages pulled, at most 1000")
	c.Flags().IntVar(&maxLen, "max-len", pubsub.DefaultGetLen, "most bytes of data pulled together")
	return c
}

func (a *App) pubsubAckCmd() *cobra.Command {
	var server string
	var ids []string
	c := &cobra.Command{
		Use:   "ack SUBSCRIPTION [DIR] --id MSG_ID...",
		Short: "Acknowledge messages pulled with explicit acknowledgement",
		Long: `Acknowledge messages of a subscription with ack explicit, pulled and in
flight, removing them from its queue. --id names a message; repeat it, or
separate ids with commas (at most 1000). It prints how many were in flight;
ids that were not are ignored.`,
		Example: `  plexus pubsub ack billing.orders --id zpsm0193a4b2c3d4e5f6a7b8c9d0e1f2a3b4
  plexus pubsub ack billing.orders --id ID1,ID2,ID3`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, pubsubAPI+"/subscriptions"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(ids) == 0 {
				return usageError{cmd: c.CommandPath(), err: errors.New("--id is required: the ids of the messages to acknowledge, as plexus pubsub get printed them")}
			}
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "POST", actionPath(pubsub.KindSubscription, args[0], "ack"), pubsub.IDsBody{MsgIDs: ids})
			if err != nil {
				return err
			}
			var res struct{ Acked int }
			if err := decodeAnswer(body, &res); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "Acknowledged %d of %d\n", res.Acked, len(ids))
			return nil
		},
	}
	serverFlag(c, &server)
	c.Flags().StringSliceVar(&ids, "id", nil, "id of a message to acknowledge; repeat or separate with commas")
	return c
}

func (a *App) pubsubClearCmd() *cobra.Command {
	var server string
	var yes bool
	c := &cobra.Command{
		Use:   "clear SUBSCRIPTION [DIR] --yes",
		Short: "Remove every message of a subscription's queue",
		Long: `Remove every message of a subscription's queue - waiting, in flight and dead
letters - without delivering them. They cannot be brought back, so the
command needs --yes. Other subscriptions of the same topics keep their
copies.`,
		Example: `  plexus pubsub clear billing.orders --yes`,
		Args:    rangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			if !yes {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("clearing removes every message of %s for good: add --yes (plexus pubsub browse %s shows them first)", args[0], args[0])}
			}
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "POST", actionPath(pubsub.KindSubscription, args[0], "clear"), nil)
			if err != nil {
				return err
			}
			var res struct{ Cleared int }
			if err := decodeAnswer(body, &res); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "Cleared %s from %s\n", messages(res.Cleared), args[0])
			return nil
		},
	}
	serverFlag(c, &server)
	c.Flags().BoolVar(&yes, "yes", false, "confirm that the messages are to be removed")
	return c
}

func (a *App) pubsubRedeliverCmd() *cobra.Command {
	var server string
	var ids []string
	c := &cobra.Command{
		Use:   "redeliver SUBSCRIPTION [DIR] [--id MSG_ID...]",
		Short: "Deliver dead letters again",
		Long: `Return a subscription's dead letters - messages whose delivery gave up - to
its queue, for delivery now with a fresh retry time. Without --id every dead
letter is returned; --id names one (repeat it, or separate ids with commas;
at most 1000), which may also be a message in flight.`,
		Example: `  plexus pubsub redeliver billing.orders
  plexus pubsub redeliver billing.orders --id zpsm0193a4b2c3d4e5f6a7b8c9d0e1f2a3b4`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, pubsubAPI+"/subscriptions"),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "POST", actionPath(pubsub.KindSubscription, args[0], "redeliver"), pubsub.IDsBody{MsgIDs: ids})
			if err != nil {
				return err
			}
			var res struct{ Redelivered int }
			if err := decodeAnswer(body, &res); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "Redelivering %s of %s\n", messages(res.Redelivered), args[0])
			return nil
		},
	}
	serverFlag(c, &server)
	c.Flags().StringSliceVar(&ids, "id", nil, "id of a message to redeliver; repeat or separate with commas (default: every dead letter)")
	return c
}

func (a *App) pubsubPauseCmd(pause bool) *cobra.Command {
	var server string
	verb, done, doc := "pause", "Paused", `Stop delivering a subscription's messages, on every server, until it is
resumed. Publishing goes on filling its queue; a paused pull subscription
answers get with no messages.`
	if !pause {
		verb, done, doc = "resume", "Resumed", `Resume delivering a paused subscription's messages, starting with those that
waited in its queue.`
	}
	c := &cobra.Command{
		Use:               verb + " SUBSCRIPTION [DIR]",
		Short:             strings.ToUpper(verb[:1]) + verb[1:] + " a subscription's delivery",
		Long:              doc,
		Example:           "  plexus pubsub " + verb + " billing.orders",
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, pubsubAPI+"/subscriptions"),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.pubsubCall(c.Context(), server, dirArg(args, 1), "POST", actionPath(pubsub.KindSubscription, args[0], verb), nil)
			if err != nil {
				return err
			}
			var s pubsub.SubscriptionStats
			if err := decodeAnswer(body, &s); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "%s %s; backlog %d\n", done, s.Name, s.Backlog)
			return nil
		},
	}
	serverFlag(c, &server)
	return c
}
