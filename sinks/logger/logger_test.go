package logger

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
)

// recorder is a slog handler that keeps every record's level and message.
type recorder struct {
	mu    sync.Mutex
	level slog.Level
	recs  []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		out = append(out, rec.Level.String()+" "+rec.Message)
	}
	return out
}

// testSink is a sink with the core's transaction loop over it.
type testSink struct {
	*Sink
	*sinkloop.Loop
}

func build(t *testing.T, ch sluice.Channel, rec *recorder, props ...conf.Prop) (*testSink, sluice.Env) {
	t.Helper()
	sp, ok := sluice.Lookup(sluice.KindSink, "org.apache.flume.sink.LoggerSink")
	if !ok {
		t.Fatal("logger sink not registered under its Flume class name")
	}
	cfg := sp.Config()
	if errs := conf.Decode(cfg, props); len(errs) > 0 {
		t.Fatal(errs)
	}
	env := sluicetest.Env("k1")
	env.Channel = ch
	env.Logger = slog.New(rec)
	v, err := sp.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Sink)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &testSink{Sink: s, Loop: sluicetest.SinkLoop(env, s)}, env
}

func event(body []byte, kv ...string) *sluice.Event {
	e := sluice.NewEvent(body)
	for i := 0; i+1 < len(kv); i += 2 {
		e.SetHeader(kv[i], kv[i+1])
	}
	return e
}

func forty() []byte {
	b := make([]byte, 40)
	for i := range b {
		b[i] = byte('A' + i%26)
	}
	return b
}

// The expected lines were produced by Flume's dumpEvent steps run on
// commons-io 2.11 HexDump and java.util.HashMap (JDK 17).
func TestLogFormat(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes string
		e        *sluice.Event
		want     string
	}{
		{"text with headers", "", event([]byte("Hello world"), "k1", "v1", "k2", "v2"),
			"Event: { headers:{k1=v1, k2=v2} body: 48 65 6C 6C 6F 20 77 6F 72 6C 64                Hello world }"},
		{"exactly 16 bytes", "", event([]byte("0123456789abcdef")),
			"Event: { headers:{} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 0123456789abcdef }"},
		{"truncated to maxBytesToLog", "", event([]byte("0123456789abcdefTRUNCATED")),
			"Event: { headers:{} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 0123456789abcdef }"},
		{"binary", "", event([]byte{0, 1, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0xc3, 0xa9}),
			"Event: { headers:{} body: 00 01 1F 20 7E 7F 80 FF C3 A9                   ... ~..... }"},
		{"several lines", "100", event(forty()),
			"Event: { headers:{} body: 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F 50 ABCDEFGHIJKLMNOP\n" +
				"00000010 51 52 53 54 55 56 57 58 59 5A 41 42 43 44 45 46 QRSTUVWXYZABCDEF\n" +
				"00000020 47 48 49 4A 4B 4C 4D 4E                         GHIJKLMN }"},
		{"several lines truncated", "33", event(forty()),
			"Event: { headers:{} body: 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F 50 ABCDEFGHIJKLMNOP\n" +
				"00000010 51 52 53 54 55 56 57 58 59 5A 41 42 43 44 45 46 QRSTUVWXYZABCDEF\n" +
				"00000020 47                                              G }"},
		{"empty body", "", event(nil, "k1", "v1", "k2", "v2"), "Event: { headers:{k1=v1, k2=v2} body: }"},
		{"maxBytesToLog 0", "0", event([]byte("secret")), "Event: { headers:{} body: }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var props []conf.Prop
			if tt.maxBytes != "" {
				props = append(props, conf.Prop{Key: "maxBytesToLog", Value: tt.maxBytes})
			}
			rec := &recorder{}
			s, _ := build(t, sluicetest.NewChannel(tt.e), rec, props...)
			if _, err := s.Process(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := rec.messages()
			if len(got) != 1 || got[0] != "INFO "+tt.want {
				t.Errorf("logged %q\nwant       %q", got, "INFO "+tt.want)
			}
		})
	}
}

func TestOneEventPerTransactionByDefault(t *testing.T) {
	ch := sluicetest.NewChannel(event([]byte("a")), event([]byte("b")), event([]byte("c")))
	rec := &recorder{}
	s, env := build(t, ch, rec)
	ctx := context.Background()
	var statuses []sluice.Status
	for range 4 {
		st, err := s.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st)
	}
	if got := strings.Join(rec.messages(), "|"); !strings.Contains(got, "a }|") || !strings.HasSuffix(got, "c }") || len(rec.messages()) != 3 {
		t.Errorf("logged %q", got)
	}
	if statuses[2] != sluice.Ready || statuses[3] != sluice.Backoff {
		t.Errorf("statuses %v", statuses)
	}
	if ch.Commits != 4 {
		t.Errorf("%d commits, want one per event plus the empty one", ch.Commits)
	}
	c := env.SinkCounters
	if c.EventDrainSuccess.Load() != 3 || c.EventDrainAttempt.Load() != 3 || c.BatchComplete.Load() != 3 || c.BatchEmpty.Load() != 1 {
		t.Errorf("counters %v", c.Snapshot())
	}
}

func TestBatchSize(t *testing.T) {
	ch := sluicetest.NewChannel(event([]byte("a")), event([]byte("b")), event([]byte("c")))
	rec := &recorder{}
	s, env := build(t, ch, rec, conf.Prop{Key: "batchSize", Value: "5"})
	if st, err := s.Process(context.Background()); err != nil || st != sluice.Ready {
		t.Fatal(st, err)
	}
	if len(rec.messages()) != 3 || ch.Len() != 0 || ch.Commits != 1 || env.SinkCounters.BatchUnderflow.Load() != 1 {
		t.Errorf("one Process with batchSize 5: %d lines, %d left, %d commits", len(rec.messages()), ch.Len(), ch.Commits)
	}
}

func TestInfoDisabledStillDrains(t *testing.T) {
	ch := sluicetest.NewChannel(event([]byte("a")))
	rec := &recorder{level: slog.LevelWarn}
	s, env := build(t, ch, rec)
	if _, err := s.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.messages()) != 0 || ch.Len() != 0 || env.SinkCounters.EventDrainSuccess.Load() != 1 {
		t.Errorf("with INFO off: %v logged, %d left", rec.messages(), ch.Len())
	}
}

type failCommit struct{ *sluicetest.Channel }

func (f failCommit) Begin() sluice.Transaction { return failTxn{f.Channel.Begin()} }

type failTxn struct{ sluice.Transaction }

func (failTxn) Commit() error { return errors.New("commit refused") }

func TestCommitFailureRollsBack(t *testing.T) {
	ch := failCommit{sluicetest.NewChannel(event([]byte("a")))}
	s, env := build(t, ch, &recorder{})
	st, err := s.Process(context.Background())
	if err == nil || st != sluice.Backoff || !strings.Contains(err.Error(), "commit refused") {
		t.Fatalf("got (%v, %v)", st, err)
	}
	if ch.Len() != 1 || env.SinkCounters.ChannelReadFail.Load() != 1 || env.SinkCounters.EventDrainSuccess.Load() != 0 {
		t.Errorf("after failed commit: %d in channel, counters %v", ch.Len(), env.SinkCounters.Snapshot())
	}
}

func TestValidate(t *testing.T) {
	sp, _ := sluice.Lookup(sluice.KindSink, "LOGGER")
	for _, p := range []conf.Prop{
		{Key: "maxBytesToLog", FullKey: "a1.sinks.k1.maxBytesToLog", Value: "-1"},
		{Key: "batchSize", FullKey: "a1.sinks.k1.batchSize", Value: "0"},
	} {
		errs := conf.Decode(sp.Config(), []conf.Prop{p})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), p.Key) || !strings.Contains(errs[0].Msg, p.Value) {
			t.Errorf("%s=%s: got %v", p.Key, p.Value, errs)
		}
	}
	def := sp.Config().(*Config)
	if def.MaxBytesToLog != 16 || def.BatchSize != 1 {
		t.Errorf("defaults %+v, want Flume's maxBytesToLog 16 and one event per transaction", def)
	}
}
