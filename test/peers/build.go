package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// returns the exit code for os.Exit.
func RunWithSluice(run func() int, binary *string) int {
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
