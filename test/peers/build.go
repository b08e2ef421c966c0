package peers

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BuildSluice builds the sluice command of this checkout into dir and
// returns the binary's path: what the tests that run the real binary (e2e,
// interop, the benchmark harness) start.
func BuildSluice(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building sluice: %w", err)
	}
	return bin, nil
}

// RunWithSluice is a TestMain body: it builds the binary into a temporary
// directory, sets *binary, runs the tests and removes the directory. It
// returns the exit code for os.Exit. Under -short it builds and runs
// nothing: a package that needs the real binary holds integration tests
// only, and -short runs unit tests without Java, Maven or a build.
func RunWithSluice(run func() int, binary *string) int {
	flag.Parse()
	if testing.Short() {
		pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
		fmt.Printf("skipping %s: integration tests need the real binary and peers; run without -short\n", pkg)
		return 0
	}
	dir, err := os.MkdirTemp("", "sluice-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *binary, err = BuildSluice(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return run()
}

// BuildPlugins does what `make plugins` does, into dir: each named example
// plugin of examples/plugins (e.g. "redis", "jsonheaders") as
// dir/<name>/<name>-plugin beside its plugin.json, a plugins.d layout that
// --plugins-path loads.
func BuildPlugins(dir string, names ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	for _, p := range names {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			return err
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, p, p+"-plugin"), "./examples/plugins/"+p)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building plugin %s: %w", p, err)
		}
		b, err := os.ReadFile(filepath.Join(root, "examples/plugins", p, "plugin.json"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p, "plugin.json"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
