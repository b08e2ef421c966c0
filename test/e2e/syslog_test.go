package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The syslog sources run in the real binary and are fed by clients nobody
// here wrote: util-linux logger and rsyslog. Both must be installed (.ci/run
// installs them); a missing one fails the test.

// need returns the path of a program the test cannot do without.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatalf("%s is not installed (Debian package %s): %v", prog, pkg, err)
	}
	return p
}

// syslogEvent is one line a file_roll sink with the header_and_text
// serializer wrote: "{k=v, k2=v2} body".
type syslogEvent struct {
	h    map[string]string
	body string
}

func parseHeaderLine(t *testing.T, line string) syslogEvent {
	t.Helper()
	i := strings.Index(line, "} ")
	if !strings.HasPrefix(line, "{") || i < 0 {
		t.Fatalf("not a header_and_text line: %q", line)
	}
	h := map[string]string{}
	if i > 1 {
		for _, kv := range strings.Split(line[1:i], ", ") {
			k, v, _ := strings.Cut(kv, "=")
			h[k] = v
		}
	}
	return syslogEvent{h: h, body: line[i+2:]}
}

// waitEvents waits until dir holds n lines and parses them.
func waitEvents(t *testing.T, dir string, n int) []syslogEvent {
	t.Helper()
	lines := waitLines(t, dir, n, 30*time.Second)
	if len(lines) != n {
		t.Fatalf("%s: got %d events, want %d:\n%s", dir, len(lines), n, strings.Join(lines, "\n"))
	}
	out := make([]syslogEvent, n)
	for i, l := range lines {
		out[i] = parseHeaderLine(t, l)
	}
	return out
}

// findBody returns the event whose body ends with suffix.
func findBody(t *testing.T, evs []syslogEvent, suffix string) syslogEvent {
	t.Helper()
	for _, e := range evs {
		if strings.HasSuffix(e.body, suffix) {
			return e
		}
	}
	t.Fatalf("no event ends with %q in %+v", suffix, evs)
	return syslogEvent{}
}

// recent checks that a timestamp header is within ten minutes of now.
func recent(t *testing.T, e syslogEvent) {
	t.Helper()
	ms, err := strconv.ParseInt(e.h["timestamp"], 10, 64)
	if err != nil {
		t.Errorf("event %q: timestamp header %q: %v", e.body, e.h["timestamp"], err)
		return
	}
	if d := time.Since(time.UnixMilli(ms)); d < -10*time.Minute || d > 10*time.Minute {
		t.Errorf("event %q: timestamp %s is %v away from now", e.body, time.UnixMilli(ms), d)
	}
}

func shortHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(h, ".")[0]
}

// syslogAgent is an agent with the three syslog sources, each into its own
// channel and file_roll directory (out/tcp, out/udp, out/multi).
func syslogAgent(t *testing.T, dir string, tcp, udp, m1, m2 int, extra string) *proc {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `a1.sources = tcp udp multi
a1.channels = ct cu cm
a1.sinks = kt ku km
a1.sources.tcp.type = syslogtcp
a1.sources.tcp.host = 127.0.0.1
a1.sources.tcp.port = %d
a1.sources.tcp.channels = ct
a1.sources.udp.type = org.apache.flume.source.SyslogUDPSource
a1.sources.udp.host = 127.0.0.1
a1.sources.udp.port = %d
a1.sources.udp.clientIPHeader = clientIP
a1.sources.udp.channels = cu
a1.sources.multi.type = multiport_syslogtcp
a1.sources.multi.host = 127.0.0.1
a1.sources.multi.ports = %d %d
a1.sources.multi.portHeader = port
a1.sources.multi.channels = cm
`, tcp, udp, m1, m2)
	for _, n := range []string{"t", "u", "m"} {
		sub := map[string]string{"t": "tcp", "u": "udp", "m": "multi"}[n]
		fmt.Fprintf(&b, `a1.channels.c%[1]s.type = memory
a1.sinks.k%[1]s.type = file_roll
a1.sinks.k%[1]s.channel = c%[1]s
a1.sinks.k%[1]s.sink.directory = out/%[2]s
a1.sinks.k%[1]s.sink.rollInterval = 0
a1.sinks.k%[1]s.sink.batchSize = 1
a1.sinks.k%[1]s.sink.serializer = header_and_text
`, n, sub)
	}
	b.WriteString(extra)
	return startAgent(t, dir, writeConf(t, dir, b.String()))
}

func runLogger(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(need(t, "logger", "bsdutils"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("logger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// util-linux logger sends RFC 3164 and RFC 5424 messages over TCP
// (newline-framed and octet-counted) and UDP; every one arrives with
// Flume's headers: Facility and Severity from -p local3.warning, the host
// name, a timestamp of now, and the message after the header as the body.
func TestSyslogFromLogger(t *testing.T) {
	need(t, "logger", "bsdutils")
	dir := t.TempDir()
	tcp, udp, m1, m2 := freePort(t), freePort(t), freePort(t), freePort(t)
	syslogAgent(t, dir, tcp, udp, m1, m2, "a1.sources.multi.keepFields = hostname\n")
	host := shortHostname(t)
	lg := func(port int, args ...string) {
		runLogger(t, append([]string{"-n", "127.0.0.1", "-P", strconv.Itoa(port), "-p", "local3.warning", "-t", "e2etag"}, args...)...)
	}
	lg(tcp, "--tcp", "--rfc3164", "tcp 3164 msg")
	lg(tcp, "--tcp", "--rfc5424", "--msgid", "M1", "tcp 5424 msg")
	lg(tcp, "--tcp", "--octet-count", "--rfc5424", "tcp octet msg")
	lg(udp, "--udp", "--rfc3164", "udp 3164 msg")
	lg(udp, "--udp", "--rfc5424", "udp 5424 msg")
	lg(m1, "--tcp", "--rfc5424", "multi port one")
	lg(m2, "--tcp", "--octet-count", "--rfc3164", "multi port two")

	check := func(e syslogEvent, bodyPrefix string) {
		t.Helper()
		if e.h["Facility"] != "19" || e.h["Severity"] != "4" || e.h["host"] != host {
			t.Errorf("event %q: headers %v, want Facility 19, Severity 4, host %s", e.body, e.h, host)
		}
		if _, bad := e.h["flume.syslog.status"]; bad {
			t.Errorf("event %q marked %s", e.body, e.h["flume.syslog.status"])
		}
		if !strings.HasPrefix(e.body, bodyPrefix) {
			t.Errorf("body %q does not start with %q", e.body, bodyPrefix)
		}
		recent(t, e)
	}
	tcpEv := waitEvents(t, filepath.Join(dir, "out", "tcp"), 3)
	e := findBody(t, tcpEv, "tcp 3164 msg")
	check(e, "e2etag: ")
	if e.h["priority"] != "156" || e.h["version"] != "" {
		t.Errorf("3164 over TCP: headers %v", e.h)
	}
	e = findBody(t, tcpEv, "tcp 5424 msg")
	check(e, "e2etag - M1 ")
	if e.h["priority"] != "156" || e.h["version"] != "1" {
		t.Errorf("5424 over TCP: headers %v", e.h)
	}
	check(findBody(t, tcpEv, "tcp octet msg"), "e2etag - - ")

	udpEv := waitEvents(t, filepath.Join(dir, "out", "udp"), 2)
	for _, s := range []string{"udp 3164 msg", "udp 5424 msg"} {
		e := findBody(t, udpEv, s)
		check(e, "e2etag")
		if e.h["clientIP"] != "127.0.0.1" {
			t.Errorf("udp: clientIP header %q", e.h["clientIP"])
		}
	}

	multi := waitEvents(t, filepath.Join(dir, "out", "multi"), 2)
	e = findBody(t, multi, "multi port one")
	check(e, host+" e2etag - - ")
	if e.h["Priority"] != "156" || e.h["Version"] != "1" || e.h["port"] != strconv.Itoa(m1) {
		t.Errorf("multiport, first port: headers %v", e.h)
	}
	e = findBody(t, multi, "multi port two")
	check(e, host+" e2etag: ")
	if e.h["port"] != strconv.Itoa(m2) {
		t.Errorf("multiport, second port: headers %v", e.h)
	}
}

// rsyslog reads a file (imfile) and forwards every line to the three
// sources with omfwd: over TCP with its traditional (RFC 3164, newline)
// format, over TCP octet-counted in RFC 5424, and over UDP. Every line
// arrives once at each.
func TestSyslogFromRsyslog(t *testing.T) {
	rsyslogd := need(t, "rsyslogd", "rsyslog")
	dir := t.TempDir()
	tcp, udp, m1, m2 := freePort(t), freePort(t), freePort(t), freePort(t)
	syslogAgent(t, dir, tcp, udp, m1, m2, "")

	work := filepath.Join(dir, "rsyslog")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "app.log")
	if err := os.WriteFile(input, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File=%q Tag="fromfile:" Facility="local1" Severity="notice" Ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" Target="127.0.0.1" Port="%d" Protocol="tcp" Template="RSYSLOG_TraditionalForwardFormat")
  action(type="omfwd" Target="127.0.0.1" Port="%d" Protocol="tcp" TCP_Framing="octet-counted" Template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" Target="127.0.0.1" Port="%d" Protocol="udp" Template="RSYSLOG_SyslogProtocol23Format")
}
`, work, input, tcp, m1, udp)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(work, "rsyslogd.pid"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})

	const n = 50
	f, err := os.OpenFile(input, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fmt.Fprintf(f, "rsyslog line %d\n", i)
	}
	f.Close()

	host := shortHostname(t)
	for _, c := range []struct {
		sub, version, versionHeader string
	}{{"tcp", "", "version"}, {"multi", "1", "Version"}, {"udp", "1", "version"}} {
		evs := waitEvents(t, filepath.Join(dir, "out", c.sub), n)
		for i := range n {
			e := findBody(t, evs, fmt.Sprintf("rsyslog line %d", i))
			if e.h["Facility"] != "17" || e.h["Severity"] != "5" || e.h["host"] != host || e.h[c.versionHeader] != c.version {
				t.Errorf("%s: event %q: headers %v, want Facility 17, Severity 5, host %s, %s %q", c.sub, e.body, e.h, host, c.versionHeader, c.version)
			}
			if _, bad := e.h["flume.syslog.status"]; bad {
				t.Errorf("%s: event %q marked %s", c.sub, e.body, e.h["flume.syslog.status"])
			}
			recent(t, e)
		}
	}
}

// Raw sockets: a message without a priority is kept, marked Invalid; one
// over eventSize is cut, its first part marked Incomplete and the rest kept;
// keepFields = all keeps the whole message as the body.
func TestSyslogInvalidAndIncomplete(t *testing.T) {
	dir := t.TempDir()
	tcp, udp, m1, m2 := freePort(t), freePort(t), freePort(t), freePort(t)
	syslogAgent(t, dir, tcp, udp, m1, m2, "a1.sources.tcp.eventSize = 40\na1.sources.udp.keepFields = all\n")
	c := dialRetry(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp)))
	long := "<13>1 - h app - - " + strings.Repeat("x", 40)
	if _, err := c.Write([]byte("no priority at all\n" + long + "\n")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	evs := waitEvents(t, filepath.Join(dir, "out", "tcp"), 3)
	want := []struct{ status, body string }{
		{"Invalid", "no priority at all"},
		{"Incomplete", "app - - " + strings.Repeat("x", 22)},
		{"Invalid", strings.Repeat("x", 18)},
	}
	for i, w := range want {
		if evs[i].h["flume.syslog.status"] != w.status || evs[i].body != w.body {
			t.Errorf("event %d: status %q body %q, want %q %q", i, evs[i].h["flume.syslog.status"], evs[i].body, w.status, w.body)
		}
	}
	u, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(udp)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	msg := "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - hi"
	if _, err := u.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	e := waitEvents(t, filepath.Join(dir, "out", "udp"), 1)[0]
	if e.body != msg || e.h["host"] != "192.0.2.1" || e.h["timestamp"] != "1061727255000" || e.h["Facility"] != "20" || e.h["Severity"] != "5" {
		t.Errorf("udp keepFields=all: %+v", e)
	}
}

// examples/syslog-fileroll.conf takes logger's messages over TCP and UDP.
func TestSyslogFileRollExample(t *testing.T) {
	need(t, "logger", "bsdutils")
	dir := t.TempDir()
	startAgent(t, dir, example("syslog-fileroll.conf"))
	runLogger(t, "--tcp", "-n", "127.0.0.1", "-P", "5140", "--rfc5424", "-t", "app", "hello over TCP")
	runLogger(t, "--udp", "-n", "127.0.0.1", "-P", "5140", "--rfc3164", "-t", "app", "hello over UDP")
	evs := waitEvents(t, filepath.Join(dir, "out", "syslog"), 2)
	for _, s := range []string{"hello over TCP", "hello over UDP"} {
		e := findBody(t, evs, s)
		if e.h["client"] != "127.0.0.1" || e.h["Facility"] != "1" || e.h["Severity"] != "5" || e.h["host"] == "" {
			t.Errorf("%q: headers %v", s, e.h)
		}
		recent(t, e)
	}
}
