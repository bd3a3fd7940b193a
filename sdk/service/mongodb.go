package service

import "go.mongodb.org/mongo-driver/v2/mongo"

// KindOutgoingMongoDB is the kind of outgoing MongoDB connections.
const KindOutgoingMongoDB = "outgoing_mongodb"

// MongoDB returns the client of the outgoing MongoDB connection with a
// name: s.Out().MongoDB("CRM") is Zato's
// self.out.mongodb['CRM'].conn.client, an official Go driver client with
// the connection's pool, credentials and timeouts. Pass the service's
// context (s) to its operations, so they end when the request does. The
// name is looked up on each call: keep the client for one invocation, not
// longer, and an administrator's change is used from the next one on.
func (o Out) MongoDB(name string) (*mongo.Client, error) {
	c, err := Resource[interface{ Client() (*mongo.Client, error) }](o.c, KindOutgoingMongoDB, name)
	if err != nil {
		return nil, err
	}
	return c.Client()
}
