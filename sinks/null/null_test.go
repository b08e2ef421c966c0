package nullsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
)

func events(n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = sluice.NewEvent([]byte(fmt.Sprint(i)))
	}
	return out
}

// build decodes props as the agent does and returns the sink and the
// core's transaction loop over it.
func build(t *testing.T, ch sluice.Channel, props ...conf.Prop) (*sinkloop.Loop, *Sink, sluice.Env) {
	t.Helper()
	sp, ok := sluice.Lookup(sluice.KindSink, "org.apache.flume.sink.NullSink")
	if !ok {
		t.Fatal("null sink not registered under its Flume class name")
	}
	cfg := sp.Config()
	if errs := conf.Decode(cfg, props); len(errs) > 0 {
		t.Fatal(errs)
	}
	env := sluicetest.Env("k1")
	env.Channel = ch
	v, err := sp.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sluicetest.SinkLoop(env, v.(*Sink)), v.(*Sink), env
}

func TestDrainsInBatches(t *testing.T) {
	ch := sluicetest.NewChannel(events(250)...)
	l, s, env := build(t, ch)
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var statuses []sluice.Status
	for range 4 {
		st, err := l.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st)
	}
	want := []sluice.Status{sluice.Ready, sluice.Ready, sluice.Ready, sluice.Backoff}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if ch.Len() != 0 || ch.Rollbacks != 0 {
		t.Errorf("channel left with %d events, %d rollbacks", ch.Len(), ch.Rollbacks)
	}
	c := env.SinkCounters
	for name, want := range map[string]int64{
		"EventDrainAttemptCount": 250, "EventDrainSuccessCount": 250,
		"BatchCompleteCount": 2, "BatchUnderflowCount": 1, "BatchEmptyCount": 1,
		"ChannelReadFail": 0,
	} {
		if got := c.Get(name).Load(); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal("second stop:", err)
	}
}

func TestBatchSizeIsHonoured(t *testing.T) {
	ch := sluicetest.NewChannel(events(10)...)
	l, _, _ := build(t, ch, conf.Prop{Key: "batchSize", Value: "3"})
	if _, err := l.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ch.Len() != 7 {
		t.Errorf("one Process with batchSize 3 left %d of 10 events", ch.Len())
	}
}

// failChannel wraps a channel so that Take or Commit fails.
type failChannel struct {
	*sluicetest.Channel
	failTake, failCommit bool
}

func (f *failChannel) Begin() sluice.Transaction {
	return &failTxn{Transaction: f.Channel.Begin(), f: f}
}

type failTxn struct {
	sluice.Transaction
	f *failChannel
}

func (t *failTxn) Take(n int) ([]*sluice.Event, error) {
	if t.f.failTake {
		return nil, errors.New("channel broken")
	}
	return t.Transaction.Take(n)
}

func (t *failTxn) Commit() error {
	if t.f.failCommit {
		return errors.New("commit refused")
	}
	return t.Transaction.Commit()
}

func TestChannelFailuresRollBack(t *testing.T) {
	for _, tc := range []struct {
		name             string
		failTake, failCm bool
		wantAttempts     int64
	}{
		{"take", true, false, 0},
		{"commit", false, true, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := &failChannel{Channel: sluicetest.NewChannel(events(5)...), failTake: tc.failTake, failCommit: tc.failCm}
			l, _, env := build(t, ch)
			st, err := l.Process(context.Background())
			if err == nil || st != sluice.Backoff {
				t.Fatalf("got (%v, %v), want BACKOFF and an error", st, err)
			}
			if !strings.Contains(err.Error(), "k1") {
				t.Errorf("error %q does not name the sink", err)
			}
			if ch.Len() != 5 {
				t.Errorf("%d events in channel after failure, want all 5 back", ch.Len())
			}
			c := env.SinkCounters
			if c.ChannelReadFail.Load() != 1 || c.EventDrainSuccess.Load() != 0 || c.EventDrainAttempt.Load() != tc.wantAttempts {
				t.Errorf("counters: %v", c.Snapshot())
			}
		})
	}
}

func TestLogsEveryNEvents(t *testing.T) {
	var buf bytes.Buffer
	ch := sluicetest.NewChannel(events(25)...)
	l, s, _ := build(t, ch, conf.Prop{Key: "logEveryNEvents", Value: "10"}, conf.Prop{Key: "batchSize", Value: "4"})
	s.log = slog.New(slog.NewTextHandler(&buf, nil))
	for ch.Len() > 0 {
		if _, err := l.Process(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Batches of 4 cross 10 at 12 and 20 at 20.
	got := strings.Count(buf.String(), "level=INFO")
	if got != 2 || !strings.Contains(buf.String(), "discarded 12 events") || !strings.Contains(buf.String(), "discarded 20 events") {
		t.Errorf("want two INFO lines at 12 and 20 events, got:\n%s", buf.String())
	}
}

func TestValidate(t *testing.T) {
	sp, _ := sluice.Lookup(sluice.KindSink, "null")
	for _, p := range []conf.Prop{{Key: "batchSize", Value: "0"}, {Key: "logEveryNEvents", Value: "-1"}} {
		errs := conf.Decode(sp.Config(), []conf.Prop{p})
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, p.Value) {
			t.Errorf("%s=%s: got %v", p.Key, p.Value, errs)
		}
	}
	def := sp.Config().(*Config)
	if def.BatchSize != 100 || def.LogEveryNEvents != 10000 {
		t.Errorf("defaults %+v differ from Flume's (100, 10000)", def)
	}
}

func BenchmarkProcess(b *testing.B) {
	ch := sluicetest.NewChannel(events(b.N)...)
	env := sluicetest.Env("k1")
	env.Channel = ch
	s, err := New(env, &Config{BatchSize: 1000, LogEveryNEvents: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	l := sluicetest.SinkLoop(env, s)
	b.ResetTimer()
	for ch.Len() > 0 {
		if _, err := l.Process(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
