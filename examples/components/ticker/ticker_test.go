package ticker

import (
	"context"
	"testing"
	"time"

	"github.com/sluiceio/sluice/sluicetest"
)

func TestEmitsNumberedEventsAndIsCounted(t *testing.T) {
	p := sluicetest.NewProcessor() // the core's hand-off over a recording channel
	env := sluicetest.SourceEnv("r1", p)
	s, err := New(env, &Config{Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := p.WaitFor(3, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"0", "1", "2"} {
		if string(got[i].Body) != want {
			t.Errorf("event %d is %q, want %q", i, got[i].Body, want)
		}
	}
	if n := env.SourceCounters.EventAccepted.Load(); n < 3 {
		t.Errorf("EventAcceptedCount %d, want at least 3", n)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Error("second Stop:", err)
	}
}
