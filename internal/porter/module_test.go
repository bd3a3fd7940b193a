package porter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/sdk/service"
)

const customers = `# -*- coding: utf-8 -*-
""" Customer services.
"""
from zato.server.service import Service

namespace = 'my.api.customer'

class GetCustomer(Service):
    """ Returns basic information about a customer.
    """
    name = 'get-customer'
    PREFIX = 'cust-'

    class SimpleIO:
        input_required = ('cust_id',)
        output_required = ('name', 'region')

    def describe(self, cust_id):
        return self.PREFIX + str(cust_id)

    def handle(self):
        self.response.payload.name = self.describe(self.request.input.cust_id)
        self.response.payload.region = 'EU'

class UpdateCustomer(Service):
    """ Updates a customer.
    """
    PREFIX = 'upd-'

    class SimpleIO:
        input_required = ('name',)
        output_required = ('result',)
        response_elem = 'response'

    def describe(self, name):
        return self.PREFIX + name

    def before_handle(self):
        self.logger.info('updating')

    def handle_POST(self):
        self.response.payload = {'result': self.describe(self.request.input.name)}
`

// With Options.Module, a module's service classes become one Starlark
// module: each a service(...) with its own name, documentation, I/O and
// handlers, their methods and constants kept apart.
func TestPortModule(t *testing.T) {
	res, err := PortWith("customers.py", []byte(customers), Options{Module: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || !res.Files[0].Module || res.Files[0].Name != "customers.star" || res.Files[0].Service != "get-customer, customers.update-customer" {
		t.Fatalf("files: %+v", res.Files)
	}
	src := res.Files[0].Source
	for _, want := range []string{`namespace = "my.api.customer"`, "_get_customer_PREFIX = ", "def _update_customer_describe(self, name):", "GetCustomer = service(", "    handle_POST = _update_customer_handle_POST,", "    response_elem = "} {
		if !strings.Contains(src, want) {
			t.Errorf("the module lacks %q:\n%s", want, src)
		}
	}
	comp := starlark.New(config.Default().Starlark, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svcs, warnings, err := comp.Compile(res.Files[0].Name, []byte(src))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%v %v\n%s", err, warnings, src)
	}
	if len(svcs) != 2 || svcs[0].Name != "get-customer" || svcs[1].Name != "customers.update-customer" ||
		svcs[0].Doc != "Returns basic information about a customer." || svcs[1].IO.ResponseElem != "response" || svcs[0].IO.Namespace != "my.api.customer" {
		t.Fatalf("services: %+v %+v", svcs[0], svcs[1])
	}
	for i, c := range []struct {
		verb  string
		input map[string]any
		want  string
	}{{"", map[string]any{"cust_id": 7}, "map[name:cust-7 region:EU]"}, {"POST", map[string]any{"name": "Jane"}, "map[result:upd-Jane]"}} {
		ctx := service.NewContext(context.Background(), nopPlatform{})
		ctx.Request.Input = c.input
		ctx.Request.Payload = c.input
		if err := svcs[i].Run(ctx, c.verb); err != nil {
			t.Fatalf("%s: %v", svcs[i].Name, err)
		}
		if got := strings.ReplaceAll(strings.TrimSpace(fmtPayload(ctx.Response.Payload)), "\n", ""); got != c.want {
			t.Errorf("%s: %s, want %s", svcs[i].Name, got, c.want)
		}
	}
	// Without the option, a file per class, as before.
	res, _ = Port("customers.py", []byte(customers))
	if len(res.Files) != 2 || res.Files[0].Module {
		t.Errorf("files without Module: %+v", res.Files)
	}
}

func fmtPayload(v any) string { return fmt.Sprint(v) }
