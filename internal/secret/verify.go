package secret

import (
	"context"
	"errors"
	"fmt"

	"github.com/plexushq/plexus/internal/store"
)

// ErrOtherKey is the error of a server whose key is not the one the
// store's secrets are sealed with.
var ErrOtherKey = errors.New("the server key (secrets/server.key) is not the one this store's secrets and sessions are sealed with: every node sharing a store needs the same key; copy it from another node")

// VerifyKey checks that box holds the key the store's secrets are sealed
// with: the first server to start on a store records a value sealed with
// its key (CheckSetting), and every later start, of any node, must open
// it. It returns ErrOtherKey otherwise.
func VerifyKey(ctx context.Context, st *store.Store, box *Box) error {
	check, err := st.InitSetting(ctx, CheckSetting, box.Seal(checkValue))
	if err != nil {
		return fmt.Errorf("checking the server key: %w", err)
	}
	if v, err := box.Open(check); err != nil || v != checkValue {
		return ErrOtherKey
	}
	return nil
}
