package server

import (
	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/apispec"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/serviceio"
	"github.com/plexushq/plexus/internal/sio"
)

// openTypedIO gives the invoker's I/O stage the environment's JSON Schema
// directory and the services' runtime switches, which the configuration
// holds (kind service_io).
func (s *Server) openTypedIO() {
	s.Invoker.IO.Schemas = sio.NewSchemas(s.Env.Path(envdir.SchemaDir), s.Logger)
	s.Invoker.IO.Lookup = serviceio.Lookup(s.Runtime)
}

// startTypedIO watches the JSON Schema files and mounts the typed I/O
// calls of the admin API: the OpenAPI document and the I/O switches.
func (s *Server) startTypedIO() {
	h := &apispec.Handler{Runtime: s.Runtime, Schemas: s.Invoker.IO.Schemas, APIAddr: s.APIAddr, AdminAddr: s.AdminAddr}
	for _, p := range []string{"/openapi", "/openapi.json", "/openapi.yaml"} {
		s.Admin.Handle("GET "+admin.Prefix+p, h.ServeHTTP)
	}
	s.pickupWG.Add(1)
	go func() {
		defer s.pickupWG.Done()
		if err := s.Invoker.IO.Schemas.Watch(s.base); err != nil {
			s.Logger.Error("JSON Schema directory", "error", err.Error())
		}
	}()
}
