package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/starlark"
)

// StubFile is the type stub plexus init-vscode writes at the root of a
// services directory: Pylance and Pyright read a __builtins__.pyi there as
// names every file sees.
const StubFile = "__builtins__.pyi"

func (a *App) initVSCodeCmd() *cobra.Command {
	var server, env, debug string
	var force bool
	c := &cobra.Command{
		Use:   "init-vscode DIR",
		Short: "Set up VS Code for the Starlark services in DIR",
		Long: `Write into DIR, the directory of your .star files, what VS Code needs for
them: ` + StubFile + `, a type stub of self and of the standard library, so that
completion and hover help work (with the Python extension, .star files being
opened as Python); .vscode/settings.json; .vscode/tasks.json, whose task
"plexus: deploy on save" runs plexus deploy --watch when the folder opens; and
.vscode/launch.json, which attaches the debugger to a server started with
plexus start --debug ADDR.

The stub is rewritten every time; the files under .vscode are kept when they
exist, unless --force is given. --server and --env are passed on to plexus
deploy; --debug is the debugger's address (default 127.0.0.1:11225).`,
		Example: `  plexus init-vscode services
  plexus init-vscode services --server http://10.0.0.5:11224 --debug 127.0.0.1:11225`,
		Args: rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.initVSCode(args[0], server, env, debug, force)
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of the server the tasks deploy to (default: the local environment's)")
	c.Flags().StringVar(&env, "env", "", "environment directory the tasks deploy to (default ./plexus-env)")
	c.Flags().StringVar(&debug, "debug", "127.0.0.1:11225", "address of the server's debugger (plexus start --debug)")
	c.Flags().BoolVar(&force, "force", false, "overwrite the files under .vscode")
	return c
}

func (a *App) initVSCode(dir, server, env, debug string, force bool) error {
	_, portText, err := net.SplitHostPort(debug)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		return fmt.Errorf("--debug %s is not an address such as 127.0.0.1:11225", debug)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".vscode"), 0o755); err != nil {
		return err
	}
	comp := starlark.New(config.Default().Starlark, slog.New(slog.DiscardHandler))
	if err := os.WriteFile(filepath.Join(dir, StubFile), []byte(comp.Stub()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "wrote %s\n", filepath.Join(dir, StubFile))
	deployArgs := []string{"deploy", "${workspaceFolder}"}
	if server != "" {
		deployArgs = append(deployArgs, "--server", server)
	}
	if env != "" {
		abs, err := filepath.Abs(env)
		if err != nil {
			return err
		}
		deployArgs = append(deployArgs, "--env", abs)
	}
	matcher := map[string]any{
		"owner":        "plexus",
		"fileLocation": []string{"relative", "${workspaceFolder}"},
		"pattern": map[string]any{
			"regexp": `^(?:.*?\s)?([^\s:]+\.star):(\d+):(\d+): (.*)$`,
			"file":   1, "line": 2, "column": 3, "message": 4,
		},
	}
	watchMatcher := map[string]any{}
	for k, v := range matcher {
		watchMatcher[k] = v
	}
	watchMatcher["background"] = map[string]any{"activeAtBeginning": true, "beginsPattern": "^watching", "endsPattern": "^watching"}
	files := map[string]any{
		"settings.json": map[string]any{
			"files.associations":                          map[string]string{"*.star": "python"},
			"python.analysis.diagnosticSeverityOverrides": map[string]string{"reportSelfClsParameterName": "none", "reportRedeclaration": "none"},
		},
		"tasks.json": map[string]any{
			"version": "2.0.0",
			"tasks": []any{
				map[string]any{
					"label": "plexus: deploy on save", "type": "process", "command": "plexus",
					"args": append(append([]string{}, deployArgs...), "--watch"), "isBackground": true,
					"runOptions": map[string]string{"runOn": "folderOpen"}, "problemMatcher": watchMatcher,
				},
				map[string]any{
					"label": "plexus: check", "type": "process", "command": "plexus",
					"args": append(append([]string{}, deployArgs...), "--check"), "problemMatcher": matcher,
					"group": map[string]any{"kind": "build", "isDefault": true},
				},
			},
		},
		"launch.json": map[string]any{
			"version": "0.2.0",
			"configurations": []any{
				map[string]any{
					"name": "Plexus: debug Starlark services", "type": "python", "request": "attach",
					"debugServer": port, "password": "${env:" + PasswordEnv + "}",
					"pathMappings": []any{map[string]string{"localRoot": "${workspaceFolder}", "remoteRoot": "."}},
				},
			},
		},
	}
	for _, name := range []string{"settings.json", "tasks.json", "launch.json"} {
		path := filepath.Join(dir, ".vscode", name)
		if _, err := os.Stat(path); err == nil && !force {
			fmt.Fprintf(a.Stdout, "kept %s (it exists; --force overwrites it)\n", path)
			continue
		}
		data, _ := json.MarshalIndent(files[name], "", "  ")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "wrote %s\n", path)
	}
	return nil
}
