package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestPluginsPathOption(t *testing.T) {
	a, err := parseAgentArgs([]string{"-n", "a1", "-f", "x.conf", "--plugins-path", "/p1", "--plugins-path=/p2:/p3", "-c", "/conf"})
	if err != nil {
		t.Fatal(err)
	}
	if a.pluginsPath != "/p1:/p2:/p3" || a.confDir != "/conf" || len(a.ignored) != 0 {
		t.Fatalf("pluginsPath %q, confDir %q, ignored %v", a.pluginsPath, a.confDir, a.ignored)
	}
	// A --plugins-path directory that does not exist is an error, for
	// list as for agent and check.
	var out, errOut bytes.Buffer
	if code := run([]string{"list", "--plugins-path", "/nonexistent/plugins.d"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `plugins directory "/nonexistent/plugins.d"`) {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	// A conf dir without plugins.d is fine.
	if !registerPlugins("", t.TempDir(), &errOut) {
		t.Fatalf("conf dir without plugins.d refused: %s", errOut.String())
	}
}
