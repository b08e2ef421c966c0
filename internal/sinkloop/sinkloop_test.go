package sinkloop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
)

// scripted is a sink whose Deliver answers from a list, recording what it
// was given.
type scripted struct {
	batch   int
	answers []func(events []*sluice.Event) error
	got     [][]string
	settled []bool
	idles   int
}

func (s *scripted) Start(context.Context) error { return nil }
func (s *scripted) Stop(context.Context) error  { return nil }
func (s *scripted) BatchSize() int              { return s.batch }
func (s *scripted) Deliver(_ context.Context, events []*sluice.Event) error {
	var bodies []string
	for _, e := range events {
		bodies = append(bodies, string(e.Body))
	}
	s.got = append(s.got, bodies)
	if len(s.answers) == 0 {
		return nil
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a(events)
}
func (s *scripted) Settled(_ context.Context, ok bool) { s.settled = append(s.settled, ok) }
func (s *scripted) Idle(context.Context) error         { s.idles++; return nil }

type memDead struct {
	got  []sinkloop.Rejected
	fail error
}

func (m *memDead) Put(_ context.Context, r []sinkloop.Rejected) error {
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, r...)
	return nil
}

func events(n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = sluice.NewEvent([]byte(fmt.Sprint(i)))
	}
	return out
}

func loop(sink sluice.Sink, ch sluice.Channel, dl sinkloop.DeadLetter, log *slog.Logger) (*sinkloop.Loop, *sluice.SinkCounters) {
	c := sluice.NewSinkCounters()
	if log == nil {
		log = sluicetest.Logger()
	}
	return sinkloop.New(sinkloop.Options{Name: "k1", Sink: sink, Channel: ch, ChannelName: "c1",
		Counters: c, Log: log, DeadLetter: dl, RetryFirst: 1, RetryMax: 1}), c
}

func want(t *testing.T, c *sluice.SinkCounters, kv map[string]int64) {
	t.Helper()
	for k, v := range kv {
		if got := c.Get(k).Load(); got != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got, v, c.Snapshot())
		}
	}
}

func TestCountsAsFlumesSinksDo(t *testing.T) {
	ch := sluicetest.NewChannel(events(25)...)
	s := &scripted{batch: 10}
	l, c := loop(s, ch, nil, nil)
	var st []sluice.Status
	for range 4 {
		got, err := l.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st = append(st, got)
	}
	if fmt.Sprint(st) != "[READY READY READY BACKOFF]" {
		t.Errorf("statuses %v", st)
	}
	want(t, c, map[string]int64{"EventDrainAttemptCount": 25, "EventDrainSuccessCount": 25,
		"BatchCompleteCount": 2, "BatchUnderflowCount": 1, "BatchEmptyCount": 1,
		"EventWriteFail": 0, "ChannelReadFail": 0})
	if fmt.Sprint(s.settled) != "[true true true]" || s.idles != 1 {
		t.Errorf("settled %v, idles %d; want three commits and one idle call", s.settled, s.idles)
	}
}

func TestRetryableFailureRollsBackAndCounts(t *testing.T) {
	ch := sluicetest.NewChannel(events(5)...)
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error { return errors.New("connection refused") },
	}}
	l, c := loop(s, ch, nil, nil)
	st, err := l.Process(context.Background())
	if err == nil || st != sluice.Backoff || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("got (%v, %v)", st, err)
	}
	if ch.Len() != 5 {
		t.Fatalf("%d events back in the channel, want 5", ch.Len())
	}
	want(t, c, map[string]int64{"EventDrainAttemptCount": 5, "EventDrainSuccessCount": 0, "EventWriteFail": 1})
	if _, err := l.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	want(t, c, map[string]int64{"EventDrainAttemptCount": 10, "EventDrainSuccessCount": 5, "EventWriteFail": 1})
}

func TestPartialRetryStaysInTheTransaction(t *testing.T) {
	ch := sluicetest.NewChannel(events(4)...)
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error {
			return &sluice.DeliveryError{Retry: []int{1, 3}, Cause: errors.New("429 too many requests")}
		},
		func([]*sluice.Event) error { return &sluice.DeliveryError{Retry: []int{1}, Cause: errors.New("429")} },
	}}
	l, c := loop(s, ch, nil, nil)
	if _, err := l.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(s.got) != "[[0 1 2 3] [1 3] [3]]" {
		t.Errorf("deliveries %v, want the batch, then 1 and 3, then 3", s.got)
	}
	if ch.Len() != 0 || ch.Commits != 1 || ch.Rollbacks != 0 {
		t.Errorf("channel: %d left, %d commits, %d rollbacks", ch.Len(), ch.Commits, ch.Rollbacks)
	}
	want(t, c, map[string]int64{"EventDrainSuccessCount": 4, "EventWriteFail": 0})
}

func TestRejectionWithoutDeadLetterRollsBackAsFlume(t *testing.T) {
	var logs bytes.Buffer
	ch := sluicetest.NewChannel(events(3)...)
	reject := func([]*sluice.Event) error {
		return &sluice.DeliveryError{Rejected: []sluice.Rejection{{Index: 1, Reason: errors.New("mapper_parsing_exception")}}}
	}
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{reject, reject}}
	l, c := loop(s, ch, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	for range 2 {
		if _, err := l.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "mapper_parsing_exception") {
			t.Fatalf("want the rejection as the error, got %v", err)
		}
	}
	if ch.Len() != 3 {
		t.Errorf("%d events in the channel, want all 3 back", ch.Len())
	}
	if n := strings.Count(logs.String(), "deadLetter.directory"); n != 1 {
		t.Errorf("the hint to configure a dead letter was logged %d times, want once:\n%s", n, logs.String())
	}
	want(t, c, map[string]int64{"EventWriteFail": 2, "EventDrainSuccessCount": 0})
}

func TestRejectionGoesToTheDeadLetterAndTheRestCommits(t *testing.T) {
	ch := sluicetest.NewChannel(events(4)...)
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error {
			return &sluice.DeliveryError{
				Rejected: []sluice.Rejection{{Index: 2, Reason: errors.New("bad doc")}},
				Retry:    []int{0}, Cause: errors.New("503"),
			}
		},
	}}
	dl := &memDead{}
	l, c := loop(s, ch, dl, nil)
	if _, err := l.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 1 || string(dl.got[0].Event.Body) != "2" || dl.got[0].Reason != "bad doc" {
		t.Errorf("dead letter got %+v", dl.got)
	}
	if fmt.Sprint(s.got) != "[[0 1 2 3] [0]]" || ch.Len() != 0 || ch.Commits != 1 {
		t.Errorf("deliveries %v, channel %d left, %d commits", s.got, ch.Len(), ch.Commits)
	}
	want(t, c, map[string]int64{"EventDrainSuccessCount": 3, "EventDeadLetterCount": 1})
}

func TestPermanentFailureDeadLettersTheWholeBatch(t *testing.T) {
	ch := sluicetest.NewChannel(events(3)...)
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error { return sluice.Permanent(errors.New("topic does not exist")) },
	}}
	dl := &memDead{}
	l, _ := loop(s, ch, dl, nil)
	if _, err := l.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 3 || dl.got[0].Reason != "topic does not exist" {
		t.Errorf("dead letter got %+v", dl.got)
	}
}

func TestDeadLetterFailureRollsBack(t *testing.T) {
	ch := sluicetest.NewChannel(events(3)...)
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error { return sluice.Permanent(errors.New("no")) },
	}}
	l, _ := loop(s, ch, &memDead{fail: errors.New("disk full")}, nil)
	if _, err := l.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
	if ch.Len() != 3 || fmt.Sprint(s.settled) != "[false]" {
		t.Errorf("channel %d, settled %v", ch.Len(), s.settled)
	}
}

func TestPanicInDeliverRollsBack(t *testing.T) {
	ch := sluicetest.NewChannel(events(2)...)
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error { panic("boom") },
	}}
	l, c := loop(s, ch, nil, nil)
	if _, err := l.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v", err)
	}
	if ch.Len() != 2 {
		t.Errorf("%d in channel, want 2", ch.Len())
	}
	want(t, c, map[string]int64{"EventWriteFail": 1})
}

func TestCancelledWhileWaitingForARetry(t *testing.T) {
	ch := sluicetest.NewChannel(events(2)...)
	ctx, cancel := context.WithCancel(context.Background())
	s := &scripted{batch: 10, answers: []func([]*sluice.Event) error{
		func([]*sluice.Event) error { cancel(); return &sluice.DeliveryError{Retry: []int{0}} },
	}}
	l := sinkloop.New(sinkloop.Options{Name: "k1", Sink: s, Channel: ch, Counters: sluice.NewSinkCounters(),
		Log: sluicetest.Logger(), RetryFirst: 1 << 40})
	if _, err := l.Process(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a cancelled delivery", err)
	}
	if ch.Len() != 2 {
		t.Errorf("%d in channel, want both back", ch.Len())
	}
}

func TestDefaultBatchSize(t *testing.T) {
	type plain struct{ sluice.Sink }
	l := sinkloop.New(sinkloop.Options{Sink: plain{}, Counters: sluice.NewSinkCounters(), Log: sluicetest.Logger()})
	if l.BatchSize() != sluice.DefaultBatchSize {
		t.Errorf("batch %d", l.BatchSize())
	}
}
