// Package pubsub is publish/subscribe with guaranteed delivery: topics,
// permissions and subscriptions declared as kinds (pubsub_topic,
// pubsub_permission, pubsub_subscription, with Zato's names), and an
// Engine that keeps messages in the server's store and delivers them.
//
// Design. A publish writes, in one transaction, the message and one
// delivery row per subscription of the topic existing at that moment
// (Zato's rule: a later subscription never gets it; with no subscriber
// only a trace of the message is kept, without its payload), and returns
// once the transaction has committed: the message is as durable as the
// store (SQLite in WAL mode with synchronous=NORMAL survives a crash of
// the process; PostgreSQL with synchronous_commit on survives a crash of
// the database host too). Delivery rows are the subscriptions' queues,
// read in order of priority (higher first), then publication.
//
// A push subscription has one worker on each server, woken at once by a
// publish on the same server, by the cluster bus for a publish on
// another, and by a periodic poll. One worker at a time delivers a
// subscription: the one holding its lease (a row of pubsub_sub, renewed
// as it works), so that each message goes to one server, in order; the
// others stand by. The holder claims a batch of rows, delivers them in
// order to the subscription's target — a service invoked through the
// request pipeline, an outgoing REST connection POSTed the message as
// JSON, or a target registered with RegisterPushTarget such as a
// WebSocket client — and deletes each row once delivered. A failure is
// retried with Zato's back-off until the message is delivered, expires or
// max_retry_time is over; then the row becomes a dead letter, kept and
// visible until redelivered or cleared. A lease that runs out (its server
// died mid-delivery) lets another server deliver the rows left in flight
// again: delivery is at least once, and each row counts its delivery
// attempts.
//
// A pull subscription's messages are taken with Get: retrieving them
// acknowledges them, or, with ack: explicit, leaves them in flight until
// Ack or until their visibility timeout returns them to the queue.
//
// A topic whose backend setting names an external engine (nats: NATS
// JetStream; amqp: RabbitMQ) keeps its messages there instead: a Backend,
// registered with RegisterBackend by the engine's package (natsbackend,
// amqpbackend), stores and hands
// them out, and the Engine does the rest as for the store's topics.
//
// A sweep removes expired messages and the payloads whose deliveries are
// all done. The Engine reaches the configuration through the runtime's
// current state, and is one of the server's subsystems: resolvers,
// actions and admin API routes find it with registry.Subsystem.
package pubsub
