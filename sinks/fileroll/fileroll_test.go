package fileroll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sinks/serializer"
	"github.com/sluiceio/sluice/sluicetest"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	s    *Sink
	loop *sinkloop.Loop
	env  sluice.Env
	ch   *sluicetest.Channel
	clk  *clock
	dir  string
}

// newFixture builds a file_roll sink from properties, the way the loader
// does, on a fake clock, and starts it.
func newFixture(t *testing.T, ch sluice.Channel, kv ...string) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	props := []conf.Prop{{Key: "sink.directory", Value: dir}}
	for i := 0; i+1 < len(kv); i += 2 {
		props = append(props, conf.Prop{Key: kv[i], FullKey: "a1.sinks.k1." + kv[i], Value: kv[i+1]})
	}
	sp, ok := sluice.Lookup(sluice.KindSink, "org.apache.flume.sink.RollingFileSink")
	if !ok {
		t.Fatal("file_roll not registered under its Flume class name")
	}
	cfg := sp.Config()
	for _, e := range conf.Decode(cfg, props) {
		if !e.Warning {
			t.Fatal(e)
		}
	}
	env := sluicetest.Env("k1")
	env.Channel = ch
	v, err := sp.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Sink)
	clk := &clock{t: t0}
	s.now = clk.now
	s.paths.loc = time.UTC
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	f := &fixture{s: s, loop: sluicetest.SinkLoop(env, s), env: env, clk: clk, dir: dir}
	if sc, ok := ch.(*sluicetest.Channel); ok {
		f.ch = sc
	}
	return f
}

func (f *fixture) process(t *testing.T) sluice.Status {
	t.Helper()
	st, err := f.loop.Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// files returns the directory's file names and contents, in name order.
func (f *fixture) files(t *testing.T) ([]string, []string) {
	t.Helper()
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names, bodies []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		bodies = append(bodies, string(b))
	}
	return names, bodies
}

func numbered(from, to int) []*sluice.Event {
	var out []*sluice.Event
	for i := from; i < to; i++ {
		out = append(out, sluice.NewEvent([]byte(fmt.Sprintf("e%03d", i))))
	}
	return out
}

func lines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "e%03d\n", i)
	}
	return b.String()
}

func TestWritesInOrderAcrossBatches(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 250)...)
	f := newFixture(t, ch)
	for _, want := range []sluice.Status{sluice.Ready, sluice.Ready, sluice.Ready, sluice.Backoff} {
		if got := f.process(t); got != want {
			t.Fatalf("status %v, want %v", got, want)
		}
	}
	names, bodies := f.files(t)
	wantName := fmt.Sprintf("%d-1", t0.UnixMilli())
	if len(names) != 1 || names[0] != wantName {
		t.Fatalf("files %v, want [%s]", names, wantName)
	}
	// Every batch is flushed before its commit: the data is in the file now.
	if bodies[0] != lines(0, 250) {
		t.Errorf("file holds %q", bodies[0])
	}
	c := f.env.SinkCounters
	for name, want := range map[string]int64{
		"EventDrainAttemptCount": 250, "EventDrainSuccessCount": 250, "BatchCompleteCount": 2,
		"BatchUnderflowCount": 1, "BatchEmptyCount": 1, "ConnectionCreatedCount": 1, "ConnectionClosedCount": 0,
	} {
		if got := c.Get(name).Load(); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if err := f.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.ConnectionClosed.Load() != 1 {
		t.Errorf("ConnectionClosedCount = %d after stop", c.ConnectionClosed.Load())
	}
}

func TestEmptyChannelCreatesNoFile(t *testing.T) {
	f := newFixture(t, sluicetest.NewChannel())
	if st := f.process(t); st != sluice.Backoff {
		t.Errorf("status %v on an empty channel", st)
	}
	if names, _ := f.files(t); len(names) != 0 {
		t.Errorf("files %v created without events", names)
	}
}

func TestRollsOnInterval(t *testing.T) {
	ch := sluicetest.NewChannel()
	f := newFixture(t, ch, "sink.rollInterval", "30", "sink.batchSize", "10")
	ch.Add(numbered(0, 15)...)
	f.process(t) // e000-e009 into file 1
	f.clk.advance(29 * time.Second)
	f.process(t) // e010-e014, same file: not due yet
	f.clk.advance(time.Second)
	ch.Add(numbered(15, 40)...)
	f.process(t) // due: file 1 closed, e015-e024 into file 2
	f.clk.advance(10 * time.Second)
	f.process(t) // e025-e034, file 2
	f.clk.advance(25 * time.Second)
	f.process(t) // file 2 is 35 s old: file 3 gets e035-e039
	f.clk.advance(31 * time.Second)
	f.process(t) // idle: file 3 closed, no new file
	f.clk.advance(time.Hour)
	f.process(t)

	names, bodies := f.files(t)
	series := t0.UnixMilli()
	wantNames := []string{fmt.Sprintf("%d-1", series), fmt.Sprintf("%d-2", series), fmt.Sprintf("%d-3", series)}
	if fmt.Sprint(names) != fmt.Sprint(wantNames) {
		t.Fatalf("files %v, want %v", names, wantNames)
	}
	want := []string{lines(0, 15), lines(15, 35), lines(35, 40)}
	for i := range want {
		if bodies[i] != want[i] {
			t.Errorf("%s holds %q, want %q", names[i], bodies[i], want[i])
		}
	}
	c := f.env.SinkCounters
	if c.ConnectionCreated.Load() != 3 || c.ConnectionClosed.Load() != 3 {
		t.Errorf("created %d, closed %d, want 3 and 3", c.ConnectionCreated.Load(), c.ConnectionClosed.Load())
	}
}

func TestRollIntervalZeroNeverRolls(t *testing.T) {
	ch := sluicetest.NewChannel()
	f := newFixture(t, ch, "sink.rollInterval", "0")
	for i := 0; i < 5; i++ {
		ch.Add(numbered(i, i+1)...)
		f.process(t)
		f.clk.advance(24 * time.Hour)
	}
	if names, bodies := f.files(t); len(names) != 1 || bodies[0] != lines(0, 5) {
		t.Errorf("files %v %q", names, bodies)
	}
}

// With the real clock and a sub-second interval (a Go duration), keep
// feeding events until three files exist; then check nothing was lost or
// written twice across them.
func TestRollsOnIntervalRealClock(t *testing.T) {
	ch := sluicetest.NewChannel()
	f := newFixture(t, ch, "sink.rollInterval", "5ms")
	f.s.now = time.Now
	deadline := time.Now().Add(20 * time.Second)
	sent := 0
	for {
		names, _ := f.files(t)
		if len(names) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d files after %d events", len(names), sent)
		}
		ch.Add(numbered(sent, sent+1)...)
		sent++
		f.process(t)
	}
	if err := f.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, _ := f.files(t)
	// Order by file number: "x-10" sorts before "x-2" as a string.
	sort.Slice(names, func(i, j int) bool { return fileNum(names[i]) < fileNum(names[j]) })
	var all strings.Builder
	for _, n := range names {
		b, _ := os.ReadFile(filepath.Join(f.dir, n))
		if len(b) == 0 {
			t.Errorf("empty file %s", n)
		}
		all.Write(b)
	}
	if all.String() != lines(0, sent) {
		t.Errorf("files hold %q, want events 0..%d once each in order", all.String(), sent-1)
	}
}

func fileNum(name string) int {
	var series, n int
	fmt.Sscanf(name, "%d-%d", &series, &n)
	return n
}

func TestFileNames(t *testing.T) {
	series := t0.UnixMilli()
	tests := []struct {
		name  string
		props []string
		steps []time.Duration // clock advance before each roll
		want  []string
	}{
		{"default", nil, []time.Duration{0, time.Minute},
			[]string{fmt.Sprintf("%d-1", series), fmt.Sprintf("%d-2", series)}},
		{"default prefix and extension", []string{"sink.pathManager.prefix", "events-", "sink.pathManager.extension", "log"},
			[]time.Duration{0, time.Minute},
			[]string{fmt.Sprintf("events-%d-1.log", series), fmt.Sprintf("events-%d-2.log", series)}},
		// ROLLTIME numbers restart when the second changes.
		{"rolltime", []string{"sink.pathManager", "rolltime", "sink.pathManager.prefix", "p_", "sink.pathManager.extension", "txt"},
			[]time.Duration{0, 0, time.Second, 0},
			[]string{"p_20240102030405-1.txt", "p_20240102030405-2.txt", "p_20240102030406-1.txt", "p_20240102030406-2.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := sluicetest.NewChannel()
			// Rolling is done by hand below, one file per step.
			f := newFixture(t, ch, append(tt.props, "sink.rollInterval", "0")...)
			for i, d := range tt.steps {
				f.clk.advance(d)
				ch.Add(numbered(i, i+1)...)
				f.process(t)
				if err := f.s.closeFile(); err != nil {
					t.Fatal(err)
				}
			}
			names, bodies := f.files(t)
			sort.Strings(tt.want)
			if fmt.Sprint(names) != fmt.Sprint(tt.want) {
				t.Errorf("files %v, want %v", names, tt.want)
			}
			for i, b := range bodies {
				if b == "" {
					t.Errorf("%s is empty", names[i])
				}
			}
		})
	}
}

func TestNeverOverwritesAnExistingFile(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 3)...)
	f := newFixture(t, ch, "sink.pathManager", "ROLLTIME")
	taken := filepath.Join(f.dir, "20240102030405-1")
	if err := os.WriteFile(taken, []byte("written before a restart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.process(t)
	names, bodies := f.files(t)
	if fmt.Sprint(names) != "[20240102030405-1 20240102030405-2]" ||
		bodies[0] != "written before a restart\n" || bodies[1] != lines(0, 3) {
		t.Errorf("files %v %q", names, bodies)
	}
}

func TestSerializerOptionsAndCase(t *testing.T) {
	ev := sluice.NewEvent([]byte("body"))
	ev.SetHeader("host", "web-1")
	tests := []struct {
		props []string
		want  string
	}{
		{[]string{"sink.serializer", "TEXT"}, "body\n"},
		{[]string{"sink.serializer", "text", "sink.serializer.appendNewline", "false"}, "body"},
		{[]string{"sink.serializer", "HEADER_AND_TEXT"}, "{host=web-1} body\n"},
		{[]string{"sink.serializer", "org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder"}, "{host=web-1} body\n"},
	}
	for _, tt := range tests {
		f := newFixture(t, sluicetest.NewChannel(ev), tt.props...)
		f.process(t)
		if _, bodies := f.files(t); len(bodies) != 1 || bodies[0] != tt.want {
			t.Errorf("%v: files hold %q, want %q", tt.props, bodies, tt.want)
		}
	}
}

func TestDirectoryReplacedByFileRollsBack(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 5)...)
	f := newFixture(t, ch, "sink.batchSize", "5")
	if err := os.Remove(f.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := f.loop.Process(context.Background())
	if err == nil || st != sluice.Backoff {
		t.Fatalf("got (%v, %v), want BACKOFF and an error", st, err)
	}
	if !strings.Contains(err.Error(), f.dir) || !strings.Contains(err.Error(), "sink.directory") {
		t.Errorf("error %q does not name the directory", err)
	}
	if ch.Len() != 5 {
		t.Errorf("%d events in the channel, want all 5 kept", ch.Len())
	}
	c := f.env.SinkCounters
	if c.ConnectionFailed.Load() != 1 || c.EventDrainSuccess.Load() != 0 {
		t.Errorf("counters %v", c.Snapshot())
	}
	// Once the directory is back, the same events are written once.
	if err := os.Remove(f.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.process(t)
	if _, bodies := f.files(t); len(bodies) != 1 || bodies[0] != lines(0, 5) {
		t.Errorf("files hold %q", bodies)
	}
}

// flaky is a test serializer: it writes "<body>\n" and fails on the event
// whose body is failOn (once), after part of the batch reached the writer.
// BeforeClose writes a trailer so tests can see a proper close.
type flaky struct {
	w io.Writer
}

var failOn atomic.Value // string

func (s *flaky) AfterCreate() error { _, err := io.WriteString(s.w, "HEADER\n"); return err }
func (s *flaky) Flush() error       { return nil }
func (s *flaky) BeforeClose() error { _, err := io.WriteString(s.w, "TRAILER\n"); return err }
func (s *flaky) Write(e *sluice.Event) error {
	if v, _ := failOn.Load().(string); v != "" && v == string(e.Body) {
		failOn.Store("")
		return errors.New("serializer refused " + v)
	}
	_, err := fmt.Fprintf(s.w, "%s\n", e.Body)
	return err
}

func init() {
	sluice.Register(sluice.Spec{
		Kind: sluice.KindSerializer, Name: "test_flaky",
		New: func(sluice.Env, any) (any, error) {
			return serializer.Builder(func(w io.Writer) (serializer.Serializer, error) { return &flaky{w: w}, nil }), nil
		},
	})
}

func TestSerializerFailureCutsBatchOff(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 30)...)
	f := newFixture(t, ch, "sink.serializer", "test_flaky", "sink.batchSize", "10")
	f.process(t) // e000-e009 committed
	failOn.Store("e015")
	st, err := f.loop.Process(context.Background())
	if err == nil || st != sluice.Backoff || !strings.Contains(err.Error(), "serializer refused e015") {
		t.Fatalf("got (%v, %v)", st, err)
	}
	if ch.Len() != 20 {
		t.Fatalf("%d events in channel after failed batch, want 20", ch.Len())
	}
	for f.process(t) == sluice.Ready {
	}
	if err := f.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, bodies := f.files(t)
	// File 1: header and the committed batch only, no trailer (abandoned).
	// File 2: the retried batches, closed properly at stop.
	want := []string{"HEADER\n" + lines(0, 10), "HEADER\n" + lines(10, 30) + "TRAILER\n"}
	if len(names) != 2 || bodies[0] != want[0] || bodies[1] != want[1] {
		t.Errorf("files %v hold %q, want %q", names, bodies, want)
	}
	c := f.env.SinkCounters
	if c.EventWriteFail.Load() != 1 || c.EventDrainSuccess.Load() != 30 || c.EventDrainAttempt.Load() != 40 {
		t.Errorf("counters %v", c.Snapshot())
	}
}

func TestFailedBatchReachingTheFileIsTruncated(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 20)...)
	f := newFixture(t, ch, "sink.serializer", "test_flaky", "sink.batchSize", "10")
	f.process(t)
	// Force the next batch's first events through to the file before the
	// failure, as a full buffer would.
	f.s.file.bw = bufioSize(f.s.file, 8)
	failOn.Store("e019")
	if _, err := f.loop.Process(context.Background()); err == nil {
		t.Fatal("no error")
	}
	_, bodies := f.files(t)
	if len(bodies) != 1 || bodies[0] != "HEADER\n"+lines(0, 10) {
		t.Errorf("after a failed batch the file holds %q", bodies)
	}
}

type commitFails struct {
	*sluicetest.Channel
	fail atomic.Bool
}

func (c *commitFails) Begin() sluice.Transaction { return &cfTxn{c.Channel.Begin(), c} }

type cfTxn struct {
	sluice.Transaction
	c *commitFails
}

func (t *cfTxn) Commit() error {
	if t.c.fail.Load() {
		return errors.New("commit refused")
	}
	return t.Transaction.Commit()
}

func TestCommitFailureTakesBatchOutOfFile(t *testing.T) {
	ch := &commitFails{Channel: sluicetest.NewChannel(numbered(0, 4)...)}
	f := newFixture(t, ch, "sink.batchSize", "2")
	f.process(t)
	ch.fail.Store(true)
	if _, err := f.loop.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "commit refused") {
		t.Fatalf("error %v", err)
	}
	if ch.Len() != 2 || f.env.SinkCounters.ChannelReadFail.Load() != 1 {
		t.Fatalf("%d events back in channel, counters %v", ch.Len(), f.env.SinkCounters.Snapshot())
	}
	ch.fail.Store(false)
	f.process(t)
	names, bodies := f.files(t)
	if len(names) != 2 || bodies[0] != lines(0, 2) || bodies[1] != lines(2, 4) {
		t.Errorf("files %v hold %q", names, bodies)
	}
}

func TestFirstBatchFailureLeavesNoFile(t *testing.T) {
	ch := &commitFails{Channel: sluicetest.NewChannel(numbered(0, 2)...)}
	ch.fail.Store(true)
	f := newFixture(t, ch)
	if _, err := f.loop.Process(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if names, _ := f.files(t); len(names) != 0 {
		t.Errorf("files %v left behind by a batch that was never committed", names)
	}
}

func TestStopFlushesAndCloses(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 3)...)
	f := newFixture(t, ch, "sink.serializer", "test_flaky", "sink.fsync", "true")
	f.process(t)
	if _, bodies := f.files(t); strings.Contains(bodies[0], "TRAILER") {
		t.Fatal("trailer written before close")
	}
	if err := f.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, bodies := f.files(t); bodies[0] != "HEADER\n"+lines(0, 3)+"TRAILER\n" {
		t.Errorf("after stop the file holds %q", bodies[0])
	}
	if err := f.s.Stop(context.Background()); err != nil {
		t.Errorf("second stop: %v", err)
	}
	ch.Add(numbered(3, 4)...)
	if _, err := f.loop.Process(context.Background()); !errors.Is(err, sluice.ErrClosed) {
		t.Errorf("Process after Stop: %v, want ErrClosed", err)
	}
	if ch.Len() != 1 {
		t.Error("Process after Stop took events")
	}
}

func TestStopGivesUpAtDeadline(t *testing.T) {
	f := newFixture(t, sluicetest.NewChannel())
	f.s.lock <- struct{}{} // a Process stuck in a write
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.s.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop = %v, want the context's error", err)
	}
	<-f.s.lock
}

func TestStartCreatesDirectory(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 1)...)
	f := newFixture(t, ch) // newFixture points at a directory that does not exist yet
	if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
		t.Fatalf("directory not created: %v", err)
	}
}

func TestStartFailsWhenDirectoryCannotBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := sluicetest.Env("k1")
	env.Channel = sluicetest.NewChannel()
	cfg := defaults()
	cfg.Directory = filepath.Join(file, "sub")
	s, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), cfg.Directory) {
		t.Errorf("Start = %v, want an error naming %s", err, cfg.Directory)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestConfig(t *testing.T) {
	sp, _ := sluice.Lookup(sluice.KindSink, "FILE_ROLL")
	def := sp.Config().(*Config)
	if def.RollInterval != 30*time.Second || def.Serializer != "TEXT" || def.BatchSize != 100 ||
		def.PathManager != "DEFAULT" || def.Prefix != "" || def.Extension != "" || def.Fsync {
		t.Errorf("defaults %+v differ from Flume's", def)
	}
	tests := []struct {
		props   []conf.Prop
		wantKey string
		wantMsg string
	}{
		{nil, "sink.directory", "missing"},
		{[]conf.Prop{{Key: "sink.directory", Value: "/x"}, {Key: "sink.pathManager", Value: "org.example.MyPathManager"}},
			"sink.pathManager", `"org.example.MyPathManager"`},
		{[]conf.Prop{{Key: "sink.directory", Value: "/x"}, {Key: "sink.serializer", Value: "avro_evnet_nope"}},
			"sink.serializer", `"avro_evnet_nope"`},
		{[]conf.Prop{{Key: "sink.directory", Value: "/x"}, {Key: "sink.serializer.appendNewline", Value: "yes"}},
			"sink.serializer.appendNewline", `"yes"`},
		{[]conf.Prop{{Key: "sink.directory", Value: "/x"}, {Key: "sink.batchSize", Value: "0"}},
			"sink.batchSize", `"0"`},
		{[]conf.Prop{{Key: "sink.directory", Value: "/x"}, {Key: "sink.rollInterval", Value: "-1"}},
			"sink.rollInterval", `"-1"`},
	}
	for _, tt := range tests {
		for i := range tt.props {
			tt.props[i].FullKey = tt.props[i].Key
		}
		errs := conf.Decode(sp.Config(), tt.props)
		found := false
		for _, e := range errs {
			if !e.Warning && e.Key == tt.wantKey && strings.Contains(e.Msg, tt.wantMsg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%v: got %v, want an error on %s mentioning %s", tt.props, errs, tt.wantKey, tt.wantMsg)
		}
	}
}

// Deleting the directory under a running sink must not lose the batch
// being written: the open file still takes writes, so the sink checks it
// is still linked before the commit, and recreates the directory.
func TestDirectoryDeletedWhileWritingKeepsTheBatch(t *testing.T) {
	ch := sluicetest.NewChannel(numbered(0, 5)...)
	f := newFixture(t, ch, "sink.batchSize", "5")
	f.process(t) // 0..4 written and committed; the file stays open
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	ch.Add(numbered(5, 10)...)
	st, err := f.loop.Process(context.Background())
	if err == nil || st != sluice.Backoff || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("got (%v, %v), want BACKOFF and an error saying the file was deleted", st, err)
	}
	if ch.Len() != 5 {
		t.Fatalf("%d events in the channel, want the batch of 5 kept", ch.Len())
	}
	f.process(t) // the directory is created again, the batch goes to a new file
	if _, bodies := f.files(t); len(bodies) != 1 || bodies[0] != lines(5, 10) {
		t.Errorf("files hold %q, want 5..9", bodies)
	}
}
