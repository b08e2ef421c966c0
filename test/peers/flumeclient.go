package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ClientTimeout bounds one run of a peer's client tool.
const ClientTimeout = 2 * time.Minute

// RunJava runs a short-lived Java program with a peer's jars (a main class,
// or a .java source file, which Java 11+ compiles in memory) and returns its
// exit code and combined output. err is only for a program that could not be
// run or was killed at ctx's end; a non-zero exit is not an error here.
func RunJava(ctx context.Context, peer, main string, args ...string) (code int, out string, err error) {
	java, err := Java()
	if err != nil {
		return -1, "", err
	}
	lib, err := Lib(peer)
	if err != nil {
		return -1, "", err
	}
	l4j, err := log4jConfig()
	if err != nil {
		return -1, "", err
	}
	argv := append([]string{"-Xmx128m", "-Dlog4j2.configurationFile=" + l4j}, FastStartFlags...)
	argv = append(argv, "-cp", filepath.Join(lib, "*"), main)
	cmd := exec.CommandContext(ctx, java, append(argv, args...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return -1, buf.String(), fmt.Errorf("peers: %s %s: %w\n%s", peer, main, ctx.Err(), buf.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), buf.String(), nil
	case err != nil:
		return -1, buf.String(), fmt.Errorf("peers: running %s %s: %w", peer, main, err)
	}
	return 0, buf.String(), nil
}

// RunFlumeAvroClient runs Flume's own `flume-ng avro-client`
// (org.apache.flume.client.avro.AvroCLIClient) against host:port with extra
// args: -F file, --dirname dir, -R header-file (key=value lines), -P
// rpc-props-file. It returns the exit code and output. The client exits 0
// even when it failed (it logs the error and returns): check the output with
// AvroClientError. A client that cannot be run at all fails the test.
func RunFlumeAvroClient(t testing.TB, host string, port int, args ...string) (int, string) {
	t.Helper()
	SkipIfShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), ClientTimeout)
	defer cancel()
	argv := append([]string{"-H", host, "-p", strconv.Itoa(port)}, args...)
	code, out, err := RunJava(ctx, "flume", "org.apache.flume.client.avro.AvroCLIClient", argv...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return code, out
}

// AvroClientError returns an error when AvroCLIClient's output shows that it
// failed ("Unable to ..." for parse, connect, read and delivery errors).
func AvroClientError(out string) error {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " ERROR ") || strings.Contains(l, "Unable to ") {
			return fmt.Errorf("peers: avro-client failed: %s", strings.TrimSpace(l))
		}
	}
	return nil
}

// FlumeClientProps returns the RpcClient properties for one host:
// client.type, hosts=h1, hosts.h1=addr. Add batch-size, compression-type,
// ssl, truststore, trust-all-certs... as needed.
func FlumeClientProps(clientType, addr string) map[string]string {
	return map[string]string{"client.type": clientType, "hosts": "h1", "hosts.h1": addr}
}

// FlumeSend sends events with the Flume SDK's RpcClient configured by props
// (see FlumeClientProps and test/peers/flume/FlumeSend.java) and fails the
// test unless every event was acknowledged. It returns the sender's output.
func FlumeSend(t testing.TB, props map[string]string, events []Event) string {
	t.Helper()
	out, err := TryFlumeSend(t, props, events)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// TryFlumeSend is FlumeSend for sends that are expected to fail: it returns
// an error for a non-zero exit instead of failing the test. Problems with
// the harness itself (no java, no jars) still fail the test.
func TryFlumeSend(t testing.TB, props map[string]string, events []Event) (string, error) {
	t.Helper()
	SkipIfShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), ClientTimeout)
	defer cancel()
	out, err := FlumeSendProcess(ctx, t.TempDir(), props, events)
	var se *SendError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("%v", err)
	}
	return out, err
}

// SendError is a FlumeSend run that exited non-zero.
type SendError struct {
	Code   int
	Output string
}

func (e *SendError) Error() string {
	return fmt.Sprintf("peers: FlumeSend exited %d:\n%s", e.Code, e.Output)
}

// FlumeSendProcess is FlumeSend for programs that are not tests: it writes
// the event file into dir and runs FlumeSend.java. A non-zero exit is a
// *SendError.
func FlumeSendProcess(ctx context.Context, dir string, props map[string]string, events []Event) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "events-*.fsnd")
	if err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	werr := WriteEventFile(f, events)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("peers: writing %s: %w", f.Name(), werr)
	}
	args := []string{f.Name()}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+props[k])
	}
	src := filepath.Join(root, "test", "peers", "flume", "FlumeSend.java")
	code, out, err := RunJava(ctx, "flume", src, args...)
	if err != nil {
		return out, err
	}
	if code != 0 {
		return out, &SendError{Code: code, Output: out}
	}
	return out, nil
}
