//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the side a program writes to (its
// terminal) and the side the test reads the screen from.
func openPTY(t *testing.T) (term, screen *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return s, m
}

// avro-client shows its progress on a terminal and ends with the total;
// piped, it prints nothing.
func TestAvroClientProgress(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	port := freePort(t)
	startAgent(t, dir, avroCollector(t, dir, port, ""))
	var input strings.Builder
	const n = 20000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&input, "line %d\n", i)
	}
	in := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(in, []byte(input.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"avro-client", "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-F", in}

	// On a terminal.
	term, screen := openPTY(t)
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stderr = term
	cmd.Env = append(os.Environ(), "TERM=xterm")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(screen) // ends with EIO once every writer closed
		read <- b
	}()
	if err := cmd.Run(); err != nil {
		t.Fatalf("avro-client on a terminal: %v", err)
	}
	term.Close()
	var shown string
	select {
	case b := <-read:
		shown = string(b)
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal never closed")
	}
	final := fmt.Sprintf("\r\x1b[Ksent %d events in ", n)
	if !strings.Contains(shown, final) || !strings.Contains(shown, "events/s)") {
		t.Errorf("the terminal shows %q, want a last line starting %q with a rate", shown, final)
	}
	if stdout.Len() != 0 {
		t.Errorf("progress went to stdout: %q", stdout.String())
	}
	waitLines(t, filepath.Join(dir, "out"), n, 30*time.Second)

	// Piped: silent.
	p := run(t, dir, args...)
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("avro-client piped: %v\n%s", err, p.out.String())
	}
	if out := p.out.String(); out != "" {
		t.Errorf("piped avro-client printed %q, want nothing", out)
	}
}
