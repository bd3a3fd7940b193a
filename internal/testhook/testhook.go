// Package testhook hands Plexus's own tests the inside of the servers that
// package plexustest starts. plexustest keeps a server's parts (runtime,
// store, invoker…) out of its public API; internal/servertest, which tests
// those parts, reaches them through Server.
package testhook

import "github.com/plexushq/plexus/internal/server"

// Server returns the server inside a *plexustest.Server. plexustest sets
// it when it is initialised, and nothing changes it afterwards.
var Server func(harness any) *server.Server
