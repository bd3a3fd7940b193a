package scheduler

import (
	"embed"

	"github.com/plexushq/plexus/internal/store"
)

// The scheduler's tables in the store: the run state and history of jobs.
//
//go:embed migrations
var migrations embed.FS

func init() {
	store.RegisterMigrations(store.Migrations{Owner: "scheduler", FS: migrations, Dir: "migrations"})
}
