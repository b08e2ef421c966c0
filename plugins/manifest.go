// Package plugins runs components that live in other programs: a plugin is
// a directory <dir>/<name>/ (Flume's plugins.d layout) holding a manifest,
// plugin.json, that names its command and the component types it provides.
// Register adds those types to the registry, so a properties file names a
// plugin type like a built-in one; each configured component then runs in
// its own child process, started, health-checked, restarted with backoff
// and reaped by this package, and spoken to over gRPC through
// hashicorp/go-plugin (protocol: plugins/proto/sluice/plugin/v1/plugin.proto).
package plugins

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sluiceio/sluice"
)

// ManifestFile is the manifest's name inside a plugin's directory.
const ManifestFile = "plugin.json"

// Manifest describes one plugin.
type Manifest struct {
	// Name defaults to the directory's name.
	Name string `json:"name"`
	// Command is the program to run, relative to the plugin's directory
	// unless absolute; Args are passed to it.
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	// Components are the types the plugin provides.
	Components []Component `json:"components"`
	// Dir is the plugin's directory (set by Discover).
	Dir string `json:"-"`
}

// Component is one type a plugin provides.
type Component struct {
	Kind string `json:"kind"` // source, sink or interceptor
	Type string `json:"type"` // the name in properties files
	Doc  string `json:"doc,omitempty"`
}

// Path is the command's full path.
func (m *Manifest) Path() string {
	if filepath.IsAbs(m.Command) {
		return m.Command
	}
	return filepath.Join(m.Dir, m.Command)
}

// Dirs lists where plugins are looked for: each directory of pluginsPath
// (a list separated by ':' as in Flume's --plugins-path), then
// <confDir>/plugins.d when a conf directory was given (-c).
func Dirs(pluginsPath, confDir string) []string {
	var out []string
	for _, d := range filepath.SplitList(pluginsPath) {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	if confDir != "" {
		out = append(out, filepath.Join(confDir, "plugins.d"))
	}
	return out
}

// Discover reads the manifest of every <dir>/<name>/ in dirs. A directory
// that does not exist is skipped when it is the conf dir's default
// (optional) and reported otherwise; so is a plugin directory without a
// readable, valid manifest. The first plugin providing a type wins; a
// later one is reported.
func Discover(dirs []string, optional map[string]bool) ([]*Manifest, []error) {
	var out []*Manifest
	var errs []error
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !(optional[dir] && errors.Is(err, os.ErrNotExist)) {
				errs = append(errs, fmt.Errorf("plugins directory %q: %w", dir, err))
			}
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			m, err := ReadManifest(filepath.Join(dir, e.Name()))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, m)
		}
	}
	return out, errs
}

// ReadManifest reads and checks <dir>/plugin.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", dir, err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("plugin manifest %s: %w", path, err)
	}
	m.Dir = dir
	if m.Name == "" {
		m.Name = filepath.Base(dir)
	}
	if m.Command == "" {
		return nil, fmt.Errorf("plugin manifest %s: \"command\" is missing", path)
	}
	if len(m.Components) == 0 {
		return nil, fmt.Errorf("plugin manifest %s: \"components\" is empty", path)
	}
	for _, c := range m.Components {
		if k := sluice.Kind(c.Kind); k != sluice.KindSource && k != sluice.KindSink && k != sluice.KindInterceptor {
			return nil, fmt.Errorf("plugin manifest %s: component %q: kind %q is not supported (source, sink or interceptor)", path, c.Type, c.Kind)
		}
		if c.Type == "" {
			return nil, fmt.Errorf("plugin manifest %s: a %s component has no \"type\"", path, c.Kind)
		}
	}
	return m, nil
}

// Register adds the types of every manifest to the registry. A type that a
// built-in component or an earlier plugin already has is reported and
// skipped: the built-in wins.
func Register(ms []*Manifest) []error {
	var errs []error
	for _, m := range ms {
		for _, c := range m.Components {
			kind := sluice.Kind(c.Kind)
			if prev, ok := sluice.Lookup(kind, c.Type); ok {
				errs = append(errs, fmt.Errorf("plugin %s (%s): %s type %q is already provided by %s; ignored", m.Name, m.Dir, kind, c.Type, prev.Name))
				continue
			}
			sluice.Register(spec(m, kind, c))
		}
	}
	return errs
}

// Names lists the plugin types of ms, for `sluice list`.
func Names(ms []*Manifest) []string {
	var out []string
	for _, m := range ms {
		for _, c := range m.Components {
			out = append(out, c.Kind+" "+c.Type+" ("+m.Name+")")
		}
	}
	sort.Strings(out)
	return out
}
