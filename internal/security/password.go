package security

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// changePassword is the action that sets a definition's password.
var changePassword = registry.Action{
	Name: "change-password",
	Doc: `Sets the password of the definition (the key of an apikey definition, the OAuth2 client secret of a bearer_token one) through the one change path, so the next request is checked against it. ` +
		`Body: {"password": "…"}. Answers {"result": "OK", "name": …, "rev": …}; a definition without a password (mtls), an empty password or one with a line break is refused. The password is never logged or echoed.`,
	Aliases: []string{"/objects/" + Kind + "/{name}/password"},
	Run:     runChangePassword,
}

func runChangePassword(ctx context.Context, call *registry.Call) (any, error) {
	var body struct {
		Password *string `json:"password"`
	}
	if err := json.Unmarshal(call.Body, &body); err != nil || body.Password == nil {
		return nil, service.BadRequest(`Expected {"password": "…"}`)
	}
	d := call.Kind.Clone(call.Object).(*Definition)
	password := *body.Password
	var problem error
	switch {
	case !HasPassword(d.Type):
		problem = registry.FieldProblem("password", "definitions of type %s have no password", d.Type)
	case password == "" || password == registry.SecretPlaceholder:
		problem = registry.FieldProblem("password", "must not be empty")
	case strings.ContainsAny(password, "\r\n\x00"):
		problem = registry.FieldProblem("password", "must not contain line breaks")
	}
	if problem != nil {
		return nil, problem
	}
	d.Password = password
	rev, err := call.Apply(ctx, d, "change password of security "+strconv.Quote(call.Name))
	if err != nil {
		return nil, err
	}
	call.Logger.Info("security definition password changed", "cid", call.CID, "definition", call.Name, "rev", rev)
	return map[string]any{"result": "OK", "name": call.Name, "rev": rev}, nil
}
