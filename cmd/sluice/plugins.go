package main

import (
	"fmt"
	"io"

	"github.com/sluiceio/sluice/plugins"
)

// registerPlugins adds the types of the plugins under pluginsPath and
// <confDir>/plugins.d to the registry, before the configuration is read,
// so that a plugin type resolves like a built-in one. A --plugins-path
// directory that cannot be read, or a plugin without a valid manifest, is
// an error; a missing <confDir>/plugins.d is not.
func registerPlugins(pluginsPath, confDir string, stderr io.Writer) bool {
	dirs := plugins.Dirs(pluginsPath, confDir)
	if len(dirs) == 0 {
		return true
	}
	optional := map[string]bool{}
	if confDir != "" {
		optional[dirs[len(dirs)-1]] = true
	}
	ms, errs := plugins.Discover(dirs, optional)
	errs = append(errs, plugins.Register(ms)...)
	for _, err := range errs {
		fmt.Fprintf(stderr, "error: %v\n", err)
	}
	return len(errs) == 0
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + ":" + b
}
