package peers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// RepoRoot returns the Sluice checkout that holds scripts/peers.sh and
// test/peers/: $SLUICE_ROOT if set, else the tree this file was compiled from,
// else the first parent of the working directory that has the script.
func RepoRoot() (string, error) {
	isRoot := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "scripts", "peers.sh"))
		return err == nil
	}
	if d := os.Getenv("SLUICE_ROOT"); d != "" {
		if !isRoot(d) {
			return "", fmt.Errorf("peers: SLUICE_ROOT=%q has no scripts/peers.sh", d)
		}
		return d, nil
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if d := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")); isRoot(d) {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isRoot(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("peers: no Sluice checkout (scripts/peers.sh) above %s; set SLUICE_ROOT", wd)
		}
	}
}

var fetched sync.Map // peer name -> lib dir, once fetched in this process

var fetchMu sync.Mutex

// Lib makes sure the peer's jars are in .peers/<peer>/lib (running
// scripts/peers.sh fetch, which uses Maven and a cache) and returns that dir.
func Lib(peer string) (string, error) {
	if d, ok := fetched.Load(peer); ok {
		return d.(string), nil
	}
	fetchMu.Lock()
	defer fetchMu.Unlock()
	if d, ok := fetched.Load(peer); ok {
		return d.(string), nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "peers.sh"), "lib", peer)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("peers: fetching %s jars (scripts/peers.sh fetch %s): %w\n%s", peer, peer, err, stderr.String())
	}
	dir := strings.TrimSpace(stdout.String())
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("peers: scripts/peers.sh gave no lib dir for %s (%q)\n%s", peer, dir, stderr.String())
	}
	fetched.Store(peer, dir)
	return dir, nil
}

// Java returns the java launcher: $JAVA_HOME/bin/java if that exists, else
// java from PATH.
func Java() (string, error) {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		p := filepath.Join(h, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("peers: no java (set JAVA_HOME or put java on PATH; Java 17 is what CI uses)")
	}
	return p, nil
}

// log4jConfig is the console config every JVM peer shares.
func log4jConfig() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "test", "peers", "log4j2.properties"), nil
}
