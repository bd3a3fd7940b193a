package security

import (
	"embed"

	"github.com/plexushq/plexus/internal/store"
)

// The security package's table in the store: the sessions of jwt
// definitions.
//
//go:embed migrations
var migrations embed.FS

func init() {
	store.RegisterMigrations(store.Migrations{Owner: "jwt_sessions", FS: migrations, Dir: "migrations"})
}
