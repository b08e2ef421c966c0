package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

// rejectBad is a Deliver that refuses events whose body starts with "bad"
// for good and delivers the rest.
func rejectBad(_ context.Context, s *testSink, events []*sluice.Event) error {
	var de sluice.DeliveryError
	var ok []*sluice.Event
	for i, e := range events {
		if strings.HasPrefix(string(e.Body), "bad") {
			de.Rejected = append(de.Rejected, sluice.Rejection{Index: i, Reason: errors.New("mapping conflict")})
		} else {
			ok = append(ok, e)
		}
	}
	_ = s.deliver(ok)
	if len(de.Rejected) == 0 {
		return nil
	}
	return &de
}

func TestDeadLetterDirectorySetsRejectedEventsAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dead")
	a, h := agentFor(t, append(slices.Clone(memSinkConf), "a1.sinks.k1.deadLetter.directory = "+dir)...)
	h.setSinkFn("k1", rejectBad)
	start(t, a, Options{})
	if err := sourceNamed(a, "r1").processor.Process(context.Background(),
		events("good1", "bad1", "good2", "bad2", "good3"), sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "three delivered", func() bool { return len(h.Delivered("k1")) >= 3 })
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k1"); !slices.Equal(got, []string{"good1", "good2", "good3"}) {
		t.Errorf("delivered %v", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "k1-*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files %v, want one", files)
	}
	b, _ := os.ReadFile(files[0])
	if n := strings.Count(string(b), "mapping conflict"); n != 2 || !strings.Contains(string(b), `"body":"bad2"`) {
		t.Errorf("dead letter holds:\n%s", b)
	}
	c := a.sinks[0].counters
	if c.Get("EventDeadLetterCount").Load() != 2 || c.EventDrainSuccess.Load() != 3 {
		t.Errorf("counters %v", c.Snapshot())
	}
	if n := channelNamed(a, "c1").(sluice.Sized).Size(); n != 0 {
		t.Errorf("%d events left in the channel", n)
	}
}

func TestDeadLetterChannel(t *testing.T) {
	a, h := agentFor(t, append(slices.Clone(memSinkConf),
		"a1.channels = c1 dlq",
		"a1.channels.dlq.type = memory",
		"a1.sinks.k1.deadLetter.channel = dlq")...)
	h.setSinkFn("k1", rejectBad)
	start(t, a, Options{})
	if err := sourceNamed(a, "r1").processor.Process(context.Background(), events("bad", "good"), sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "one delivered", func() bool { return len(h.Delivered("k1")) >= 1 })
	waitUntil(t, "one dead-lettered", func() bool { return channelNamed(a, "dlq").(sluice.Sized).Size() == 1 })
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
}

func TestDeadLetterConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"a1.sinks.k1.deadLetter.channel = nope", `"nope" is not a channel`},
		{"a1.sinks.k1.deadLetter.channel = c1", "the channel the sink drains"},
		{"a1.sinks.k1.deadLetter.dirctory = /x", `did you mean "deadLetter.directory"`},
	} {
		_, problems := Build(parse(append(slices.Clone(memSinkConf), tc.line)...), nil)
		var all []string
		for _, p := range problems {
			all = append(all, p.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want one containing %q", tc.line, all, tc.want)
		}
	}
}
