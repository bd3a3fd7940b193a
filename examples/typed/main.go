// Command typed is a Plexus program whose Go services declare typed I/O:
// GetClient, the seed's model-based service, takes a GetClientRequest and
// returns a GetClientResponse; CreateOrder has nested models and a list of
// models; GetCustomer declares SimpleIO element lists whose types are
// inferred from their names.
//
//	PLEXUS_ADMIN_PASSWORD=change-me-now go run ./examples/typed quickstart
//
// then, in another terminal:
//
//	curl -u admin:change-me-now -X PUT localhost:11224/admin/api/v1/objects/channel_rest/client \
//	     -d '{"service": "client.get-client", "url_path": "/api/v1/client"}'
//	curl localhost:11223/api/v1/client -d '{"client_id":123}'
//	{"email":"jane.doe@example.com","name":"Jane Doe","segment":"RNZ"}
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/plexushq/plexus"
	"github.com/plexushq/plexus/sdk/service"
)

// GetClientRequest is GetClient's input.
type GetClientRequest struct {
	ClientID int `json:"client_id"`
}

// GetClientResponse is GetClient's output.
type GetClientResponse struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Segment string `json:"segment"`
}

// GetClient returns basic information about a client.
type GetClient struct{}

// Name is the service's name.
func (GetClient) Name() string { return "client.get-client" }

// Doc is the service's documentation: its first line is the summary.
func (GetClient) Doc() string {
	return "Returns basic information about a client.\n\nIn a full service this would come from one or more databases or systems."
}

// Handle receives the converted, validated request and returns the
// response; Plexus decodes the one and encodes the other.
func (GetClient) Handle(s *service.Context, req GetClientRequest) (GetClientResponse, error) {
	s.Logger().Info("processing client", "client_id", req.ClientID)
	return GetClientResponse{Name: "Jane Doe", Email: "jane.doe@example.com", Segment: "RNZ"}, nil
}

// Address is a postal address.
type Address struct {
	Street string  `json:"street"`
	City   string  `json:"city"`
	Zip    *string `json:"zip"` // a pointer: optional
}

// Item is one line of an order.
type Item struct {
	SKU   string  `json:"sku"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price,omitempty"` // omitempty: optional
}

// CreateOrderRequest is CreateOrder's input: nested models, a list of
// models and optional fields.
type CreateOrderRequest struct {
	CustomerID int       `json:"customer_id"`
	Address    Address   `json:"address"`
	Items      []Item    `json:"items"`
	DeliverOn  time.Time `json:"deliver_on,omitempty" sio:"date"`
	Note       string    `json:"note" default:"none"`
}

// CreateOrderResponse is CreateOrder's output.
type CreateOrderResponse struct {
	OrderID string `json:"order_id" sio:"uuid"`
	Items   int    `json:"items"`
	City    string `json:"city"`
}

// CreateOrder creates an order.
var CreateOrder = service.Typed("orders.create-order", "Creates an order for a customer.",
	func(s *service.Context, req CreateOrderRequest) (CreateOrderResponse, error) {
		n := 0
		for _, it := range req.Items {
			n += it.Qty
		}
		return CreateOrderResponse{OrderID: "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e", Items: n, City: strings.ToUpper(req.Address.City)}, nil
	})

// GetCustomer is the seed's SimpleIO service: cust_id is an integer and
// is_active a boolean because of their names.
type GetCustomer struct{}

// Name is the service's name.
func (GetCustomer) Name() string { return "customer.get-customer" }

// Doc is the service's documentation.
func (GetCustomer) Doc() string { return "Returns basic information about a customer." }

// SimpleIO declares the service's input and output.
func (GetCustomer) SimpleIO() service.SimpleIO {
	return service.SimpleIO{
		InputRequired:  service.Names("cust_id"),
		InputOptional:  []service.Elem{service.Text("cust_type"), service.Text("segment", service.Default("retail"))},
		OutputRequired: service.Names("name", "is_active", "region"),
		OutputOptional: service.Names("last_seen"),
	}
}

// Invokes lists the services GetCustomer calls, for the API docs.
func (GetCustomer) Invokes() []string { return []string{"client.get-client"} }

// Handle looks the customer up.
func (GetCustomer) Handle(s *service.Context) error {
	id := s.Request.Input["cust_id"].(int64)
	s.Response.Payload = map[string]any{
		"name": "Jane Doe", "is_active": id%2 == 1, "region": s.Request.Input["segment"],
		"internal_note": "dropped: not declared",
	}
	return nil
}

// Services are the example's services.
func Services() []any { return []any{GetClient{}, CreateOrder, GetCustomer{}} }

func main() {
	if code := plexus.New().Register(Services()...).Run(); code != 0 {
		fmt.Fprintln(os.Stderr, "typed: exiting")
		os.Exit(code)
	}
}
