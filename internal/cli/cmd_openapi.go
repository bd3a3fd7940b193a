package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/apispec"
)

// specFlags select the services of a document.
type specFlags struct {
	include, exclude, title, server string
}

func (f *specFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.include, "include", "*", "comma-separated globs of the service names to include")
	c.Flags().StringVar(&f.exclude, "exclude", apispec.DefaultExclude, "comma-separated globs of the service names to leave out")
	c.Flags().StringVar(&f.title, "title", "", `the document's title (default "API")`)
	c.Flags().StringVar(&f.server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
}

// fetch asks the running server for its OpenAPI document.
func (a *App) fetchSpec(ctx context.Context, f *specFlags, dir, format string) ([]byte, error) {
	cl, err := a.newClient(f.server, dir)
	if err != nil {
		return nil, err
	}
	q := url.Values{"include": {f.include}, "exclude": {f.exclude}}
	if f.title != "" {
		q.Set("title", f.title)
	}
	status, body, err := cl.do(ctx, "GET", "/admin/api/v1/openapi."+format+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("the server answered %d: %s", status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func (a *App) openapiCmd() *cobra.Command {
	var f specFlags
	var file string
	c := &cobra.Command{
		Use:   "openapi [DIR]",
		Short: "Write the OpenAPI 3.1 document of the deployed services",
		Long: `Write one OpenAPI 3.1 document describing the services of a running server:
their REST channels' paths and verbs, path and query parameters, request and
response schemas from their typed I/O (SimpleIO, models, JSON Schemas),
docstrings, security schemes and the error envelope. Services without a REST
channel appear under the admin API's invoke path.

The server is the one of the local environment DIR (default ./plexus-env), or
the one --server names, with the admin password in ` + PasswordEnv + `.
--include and --exclude take comma-separated globs on service names; by
default plexus.* and demo.* are left out. The document goes to standard
output as YAML, or to --file (JSON when its name ends in .json).`,
		Example: `  plexus openapi --include "client*" --file /tmp/openapi.yaml
  plexus openapi --file openapi.json
  ` + PasswordEnv + `=... plexus openapi --server http://10.0.0.5:11224`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			format := "yaml"
			if strings.EqualFold(filepath.Ext(file), ".json") {
				format = "json"
			}
			body, err := a.fetchSpec(c.Context(), &f, dirArg(args, 0), format)
			if err != nil {
				return err
			}
			if file == "" {
				_, err := a.Stdout.Write(body)
				return err
			}
			if err := os.WriteFile(file, body, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", file, err)
			}
			fmt.Fprintf(a.Stdout, "OpenAPI document written to %s\n", file)
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVar(&file, "file", "", "write the document to this file instead of standard output (.json for JSON, else YAML)")
	return c
}

func (a *App) apidocsCmd() *cobra.Command {
	var f specFlags
	var out, css string
	c := &cobra.Command{
		Use:   "apidocs --out DIR [ENV]",
		Short: "Write a static HTML site documenting the deployed services",
		Long: `Write a static HTML site documenting the services of a running server, grouped
by namespace (a service's declared namespace, else its name without the last
dotted part): each service's documentation, its input and output with types,
required elements and defaults, its REST channels, the services it declares it
invokes, and the OpenAPI document to download. No JavaScript, no build step:
serve the directory with any web server or open index.html.

--title and --css brand the site; the server and the selection of services
work as for plexus openapi.`,
		Example: `  plexus apidocs --out apidocs
  plexus apidocs --out apidocs --title "My API spec" --css brand.css --include "my.api.*"`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("--out DIR is required")}
			}
			var opts apispec.SiteOptions
			opts.Title = f.title
			if css != "" {
				data, err := os.ReadFile(css)
				if err != nil {
					return fmt.Errorf("reading --css: %w", err)
				}
				opts.CSS = data
			}
			body, err := a.fetchSpec(c.Context(), &f, dirArg(args, 0), "json")
			if err != nil {
				return err
			}
			if err := apispec.WriteSite(out, body, opts); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "API documentation written to %s; open %s\n", out, filepath.Join(out, "index.html"))
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVar(&out, "out", "", "directory to write the site to (created if needed)")
	c.Flags().StringVar(&css, "css", "", "stylesheet that replaces the default one")
	return c
}
