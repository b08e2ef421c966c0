package plugins

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
	"github.com/sluiceio/sluice/sluicetest"
)

var pluginsDir string

// TestMain builds the test plugin (testdata/filesink) into a plugins.d
// and registers it; it needs only Go, so it runs under -short too.
func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sluice-plugins-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		pd := filepath.Join(dir, "filesink")
		if err := os.MkdirAll(pd, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(pd, "filesink-plugin"), "./testdata/filesink")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the test plugin:", err)
			return 1
		}
		manifest := `{"command": "filesink-plugin", "components": [{"kind": "sink", "type": "test_file"}, {"kind": "source", "type": "test_counter"}]}`
		if err := os.WriteFile(filepath.Join(pd, ManifestFile), []byte(manifest), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// The example interceptor plugin, for the in-process comparison.
		jd := filepath.Join(dir, "jsonheaders")
		if err := os.MkdirAll(jd, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cmd = exec.Command("go", "build", "-o", filepath.Join(jd, "jsonheaders-plugin"), "../examples/plugins/jsonheaders")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the jsonheaders plugin:", err)
			return 1
		}
		if b, err := os.ReadFile("../examples/plugins/jsonheaders/plugin.json"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		} else if err := os.WriteFile(filepath.Join(jd, ManifestFile), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ms, errs := Discover([]string{dir}, nil)
		errs = append(errs, Register(ms)...)
		if len(errs) > 0 {
			fmt.Fprintln(os.Stderr, errs)
			return 1
		}
		pluginsDir = dir
		defer Cleanup()
		return m.Run()
	}()
	os.Exit(code)
}

func TestDiscoverManifests(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if body != "" {
			if err := os.WriteFile(filepath.Join(dir, name, ManifestFile), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("good", `{"command": "/bin/x", "components": [{"kind": "interceptor", "type": "t1"}]}`)
	write("nojson", `{"command": `)
	write("nocmd", `{"components": [{"kind": "sink", "type": "t2"}]}`)
	write("channel", `{"command": "x", "components": [{"kind": "channel", "type": "t3"}]}`)
	write("empty", `{"command": "x", "components": []}`)
	write("nomanifest", "")
	ms, errs := Discover([]string{dir, filepath.Join(dir, "absent")}, map[string]bool{filepath.Join(dir, "absent"): true})
	if len(ms) != 1 || ms[0].Name != "good" || ms[0].Path() != "/bin/x" || ms[0].Dir != filepath.Join(dir, "good") {
		t.Fatalf("manifests %+v", ms)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"nojson/plugin.json: unexpected end of JSON input", `nocmd/plugin.json: "command" is missing`,
		`kind "channel" is not supported`, `empty/plugin.json: "components" is empty`, "nomanifest/plugin.json: no such file"} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
	if len(errs) != 5 {
		t.Errorf("%d errors, want 5:\n%s", len(errs), all)
	}
	// A --plugins-path directory that does not exist is an error.
	if _, errs := Discover([]string{filepath.Join(dir, "absent")}, nil); len(errs) != 1 {
		t.Errorf("missing plugins dir: %v", errs)
	}
	if got := Dirs("/a: /b", "/conf"); strings.Join(got, ",") != "/a,/b,/conf/plugins.d" {
		t.Errorf("Dirs = %v", got)
	}
}

func TestRegisterRefusesATypeTaken(t *testing.T) {
	m := &Manifest{Name: "dup", Dir: "/x", Command: "x", Components: []Component{{Kind: "sink", Type: "TEST_FILE"}}}
	errs := Register([]*Manifest{m})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `sink type "TEST_FILE" is already provided by test_file`) {
		t.Fatalf("errs %v", errs)
	}
	if err := sluice.RegistryErr(); err != nil {
		t.Fatal(err)
	}
}

// decode decodes props for the test_file type as the agent does: the
// plugin validates them.
func decode(t *testing.T, props ...string) (*sluice.Spec, any, []*conf.Error) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSink, "test_file")
	if !ok {
		t.Fatal("test_file not registered")
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for i := 0; i+1 < len(props); i += 2 {
		ps = append(ps, conf.Prop{Key: props[i], FullKey: "a1.sinks.k1." + props[i], Value: props[i+1], File: "a.conf", Line: 10 + i/2})
	}
	return spec, cfg, conf.Decode(cfg, ps)
}

func TestPluginValidatesProperties(t *testing.T) {
	_, _, errs := decode(t, "plugin.callTimeout", "2000")
	if len(errs) != 1 || errs[0].Key != "path" || errs[0].Msg != `required property "path" is missing` {
		t.Errorf("errors %v", errs)
	}
	_, _, errs = decode(t, "batchSize", "0", "bogus", "1", "path", "/tmp/x")
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	s := strings.Join(got, "\n")
	for _, want := range []string{
		"a1.sinks.k1.batchSize (a.conf:10): must be at least 1", // Validate in the plugin
	} {
		if !strings.Contains(s, want) {
			t.Errorf("errors lack %q:\n%s", want, s)
		}
	}
	// A warning from the plugin, once the rest is valid.
	_, _, errs = decode(t, "bogus", "1", "path", "/tmp/x")
	if len(errs) != 1 || !errs[0].Warning || errs[0].Error() != `a1.sinks.k1.bogus (a.conf:10): unknown property "bogus"` {
		t.Errorf("errors %v", errs)
	}
	_, _, errs = decode(t, "plugin.callTimeout", "0", "path", "/tmp/x")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `a1.sinks.k1.plugin.callTimeout (a.conf:10): "0s" must be positive`) {
		t.Errorf("errors %v", errs)
	}
}

func TestProtocolVersionRefused(t *testing.T) {
	t.Setenv("SLUICE_PLUGIN_PROTOCOL", "7")
	_, _, errs := decode(t, "path", "/tmp/x")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "speaks Sluice plugin protocol version 7, this agent versions 1 and 2") {
		t.Fatalf("errors %v", errs)
	}
}

// newSink builds and starts a test_file sink over ch, as the agent does.
func startSink(t *testing.T, ch *sluicetest.Channel, props ...string) (*Sink, sluice.Drainer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	spec, cfg, errs := decode(t, append([]string{"path", path, "plugin.maxBackoff", "300"}, props...)...)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	env := sluicetest.Env("k1")
	env.Channel = ch
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Sink)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s, sluicetest.SinkLoop(env, s), path
}

func events(bodies ...string) []*sluice.Event {
	var out []*sluice.Event
	for _, b := range bodies {
		out = append(out, sluice.NewEvent([]byte(b)))
	}
	return out
}

func pid(s *Sink) int {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if s.h.p == nil {
		return 0
	}
	return s.h.p.cmd.Process.Pid
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// process drains ch through the core loop until it is empty, allowing
// errors (each followed by a pause for the restart backoff).
func process(t *testing.T, d sluice.Drainer, ch *sluicetest.Channel) []error {
	t.Helper()
	var errs []error
	deadline := time.Now().Add(60 * time.Second)
	for ch.Len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("channel not drained; errors: %v", errs)
		}
		if _, err := d.Process(context.Background()); err != nil {
			errs = append(errs, err)
			time.Sleep(100 * time.Millisecond)
		}
	}
	return errs
}

// In protocol version 2 (batches framed in one field) and 1 (repeated
// Event messages, as a plugin built before version 2 speaks).
func TestSinkCommitsOnlyWhatThePluginAcknowledged(t *testing.T) {
	for _, v := range []string{"", "1"} {
		t.Run("protocol="+v, func(t *testing.T) {
			if v != "" {
				t.Setenv("SLUICE_PLUGIN_PROTOCOL", v)
			}
			sinkCommitsOnlyWhatThePluginAcknowledged(t)
		})
	}
}

func sinkCommitsOnlyWhatThePluginAcknowledged(t *testing.T) {
	ch := sluicetest.NewChannel(events("a", "b", "c", "d", "crashonce", "e", "f")...)
	s, loop, path := startSink(t, ch)
	if s.BatchSize() != 3 {
		t.Fatalf("batch size %d, want the plugin's 3", s.BatchSize())
	}
	first := pid(s)
	errs := process(t, loop, ch)
	// The batch [d crashonce e] rolled back when the plugin died, and went
	// to the new process whole.
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "the batch goes back to the channel") {
		t.Fatalf("errors %v", errs)
	}
	b, _ := os.ReadFile(path)
	if got := string(b); got != "a\nb\nc\nd\ncrashonce\ne\nf\n" {
		t.Fatalf("file holds %q", got)
	}
	if pid(s) == first || alive(first) {
		t.Fatalf("the crashed process %d was not replaced (now %d)", first, pid(s))
	}
	p := pid(s)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(p) {
		t.Fatalf("plugin process %d alive after Stop", p)
	}
}

func TestHungPluginTimedOut(t *testing.T) {
	ch := sluicetest.NewChannel(events("a", "hang")...)
	s, loop, _ := startSink(t, ch, "plugin.callTimeout", "500")
	first := pid(s)
	_, err := loop.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within plugin.callTimeout (500ms)") {
		t.Fatalf("error %v", err)
	}
	if ch.Len() != 2 {
		t.Fatalf("%d events in the channel, want the batch back (2)", ch.Len())
	}
	deadline := time.Now().Add(30 * time.Second)
	for alive(first) {
		if time.Now().After(deadline) {
			t.Fatal("the hung process is still alive")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRejectedEventRollsTheBatchBack(t *testing.T) {
	ch := sluicetest.NewChannel(events("a", "reject", "b")...)
	_, loop, _ := startSink(t, ch)
	_, err := loop.Process(context.Background())
	// No dead letter configured: the batch rolls back, as Flume does.
	if err == nil || ch.Len() != 3 {
		t.Fatalf("err %v, channel %d", err, ch.Len())
	}
	if !strings.Contains(err.Error(), "no rejects here") {
		t.Fatalf("error %v lacks the plugin's reason", err)
	}
}

func TestVerdictErr(t *testing.T) {
	if err := verdictErr("p", &pluginv1.DeliverResponse{}, 3); err != nil {
		t.Fatal(err)
	}
	err := verdictErr("p", &pluginv1.DeliverResponse{Error: "down"}, 3)
	if err == nil || sluice.IsPermanent(err) || err.Error() != "plugin p: down" {
		t.Fatalf("retryable: %v", err)
	}
	if err := verdictErr("p", &pluginv1.DeliverResponse{Error: "bad", Permanent: true}, 3); !sluice.IsPermanent(err) {
		t.Fatalf("permanent: %v", err)
	}
	err = verdictErr("p", &pluginv1.DeliverResponse{Error: "x", Retry: []int32{0, 9, -1},
		Rejected: []*pluginv1.Rejection{{Index: 2, Reason: "too big"}, {Index: 3}}}, 3)
	var de *sluice.DeliveryError
	if !errors.As(err, &de) || fmt.Sprint(de.Retry) != "[0]" || len(de.Rejected) != 1 || de.Rejected[0].Index != 2 || de.Rejected[0].Reason.Error() != "too big" {
		t.Fatalf("partial: %#v", err)
	}
}
