package processor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

func TestJavaHashOrder(t *testing.T) {
	// Iteration orders printed by java.util.HashMap (OpenJDK) after putting
	// the names in list order.
	for _, tc := range []struct{ in, want string }{
		{"k1 k2 k3", "k1 k2 k3"},
		{"k3 k1 k2", "k1 k2 k3"},
		{"sink1 sink2", "sink2 sink1"},
		{"s1 s2 s3", "s3 s1 s2"},
		{"hdfs-b avro-a kafka avro-b x", "hdfs-b kafka x avro-a avro-b"},
		{"a b c d e f g h i j k l m n", "a b c d e f g h i j k l m n"},
		{"Aa BB", "Aa BB"}, // equal hash codes keep insertion order
		{"BB Aa", "BB Aa"},
	} {
		got := strings.Join(javaHashOrder(strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("javaHashOrder(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if h := javaStringHash("k1"); h != 3366 {
		t.Errorf(`"k1".hashCode() = %d, want 3366`, h)
	}
}

func TestAliasesRegistered(t *testing.T) {
	for alias, name := range map[string]string{
		"org.apache.flume.sink.DefaultSinkProcessor":       "default",
		"org.apache.flume.sink.FailoverSinkProcessor":      "failover",
		"org.apache.flume.sink.LoadBalancingSinkProcessor": "load_balance",
		"FAILOVER":     "failover",
		"Load_Balance": "load_balance",
	} {
		spec, ok := sluice.Lookup(sluice.KindSinkProcessor, alias)
		if !ok || spec.Name != name {
			t.Errorf("Lookup(%q) = %v, %v; want %s", alias, spec, ok, name)
		}
	}
}

func TestDefaultPassesThrough(t *testing.T) {
	s, _ := group("k1")
	d := mustBuild(t, "default", nil, s...).(*Default)
	s[0].queue = []result{{sluice.Ready, nil}, {sluice.Backoff, nil}, {sluice.Backoff, errDown}}
	for i, want := range s[0].queue {
		st, err := d.Process(context.Background())
		if st != want.st || err != want.err {
			t.Errorf("call %d: got %v, %v; want %v, %v", i, st, err, want.st, want.err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   string
		props map[string]string
		sinks []string
		want  []string
	}{
		{"default with two sinks", "default", nil, []string{"k1", "k2"}, []string{"exactly one sink", "has 2 (k1 k2)"}},
		{"failover unknown sink", "failover", map[string]string{"priority.k3": "1", "priority.k1": "2"}, []string{"k1", "k2"},
			[]string{"priority.k3", `sink "k3" is not in this sink group`, `did you mean "k1"?`}},
		{"failover unknown sink no suggestion", "failover", map[string]string{"priority.elasticsearch": "1"}, []string{"k1", "k2"},
			[]string{"priority.elasticsearch", "its sinks: k1 k2"}},
		{"failover bad priority", "failover", map[string]string{"priority.k1": "high"}, []string{"k1", "k2"},
			[]string{"priority.k1", `"high" is not a whole number`}},
		{"failover priority out of int range", "failover", map[string]string{"priority.k1": "4294967296"}, []string{"k1", "k2"},
			[]string{"priority.k1", "not a whole number"}},
		{"failover negative maxpenalty", "failover", map[string]string{"maxpenalty": "-1"}, []string{"k1", "k2"},
			[]string{"maxpenalty", `"-1" is negative`}},
		{"load_balance custom selector", "load_balance", map[string]string{"selector": "com.example.MySelector"}, []string{"k1", "k2"},
			[]string{"selector", "custom sink selector classes", "not supported"}},
		{"load_balance misspelt selector", "load_balance", map[string]string{"selector": "round_robbin"}, []string{"k1", "k2"},
			[]string{"selector", `"round_robbin" is not a sink selector`, `did you mean "round_robin"?`}},
		{"load_balance bad backoff", "load_balance", map[string]string{"backoff": "yes"}, []string{"k1", "k2"},
			[]string{"backoff", `"yes" is not true or false`}},
		{"load_balance one sink", "load_balance", nil, []string{"k1"}, []string{"at least two sinks", "only k1"}},
		{"empty group", "failover", nil, nil, []string{"no sinks"}},
		{"sink listed twice", "load_balance", nil, []string{"k1", "k1"}, []string{`"k1" is listed twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := group(tc.sinks...)
			_, err := build(t, tc.typ, tc.props, nil, s...)
			wantErrContains(t, err, tc.want...)
		})
	}
}

func TestLifecycleStartsAndStopsMembers(t *testing.T) {
	for _, typ := range []string{"failover", "load_balance"} {
		t.Run(typ, func(t *testing.T) {
			s, _ := group("k1", "k2")
			p := mustBuild(t, typ, nil, s...).(sluice.SinkProcessor)
			ctx := context.Background()
			if err := p.Stop(ctx); err != nil { // safe without Start
				t.Fatal(err)
			}
			for range 2 {
				if err := p.Start(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				if err := p.Stop(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, x := range s {
				if x.starts != 1 || x.stops != 1 {
					t.Errorf("sink %s started %d, stopped %d times; want 1 and 1", x.name, x.starts, x.stops)
				}
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		s, _ := group("k1")
		p := mustBuild(t, "default", nil, s...).(sluice.SinkProcessor)
		_ = p.Start(context.Background())
		_ = p.Start(context.Background())
		_ = p.Stop(context.Background())
		_ = p.Stop(context.Background())
		if s[0].starts != 1 || s[0].stops != 1 {
			t.Errorf("started %d, stopped %d times; want 1 and 1", s[0].starts, s[0].stops)
		}
	})
}

func TestStartFailureStopsStartedMembers(t *testing.T) {
	s, _ := group("k1", "k2", "k3")
	errBind := errors.New("address in use")
	s[1].startErr = errBind
	p := mustBuild(t, "load_balance", nil, s...).(sluice.SinkProcessor)
	err := p.Start(context.Background())
	if !errors.Is(err, errBind) || !strings.Contains(err.Error(), "k2") {
		t.Fatalf("Start error %v, want k2's error", err)
	}
	got := []int{s[0].starts, s[0].stops, s[2].starts}
	if !slices.Equal(got, []int{1, 1, 0}) {
		t.Fatalf("k1 starts/stops, k3 starts = %v; want [1 1 0]", got)
	}
	// Not running: Stop does nothing; a later Start retries.
	if err := p.Stop(context.Background()); err != nil || s[0].stops != 1 {
		t.Fatalf("Stop after a failed Start: %v, k1 stops %d", err, s[0].stops)
	}
	s[1].startErr = nil
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s[2].starts != 1 {
		t.Fatal("retried Start did not start k3")
	}
}

func TestStopReportsEveryFailure(t *testing.T) {
	s, _ := group("k1", "k2")
	p := mustBuild(t, "failover", nil, s...).(sluice.SinkProcessor)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := &stopFail{fakeSink: s[1], err: errors.New("flush failed")}
	p.(*Failover).sinks[1].Sink = bad
	err := p.Stop(context.Background())
	if !errors.Is(err, bad.err) || !strings.Contains(err.Error(), "stop sink k2") {
		t.Fatalf("Stop error %v", err)
	}
	if s[0].stops != 1 {
		t.Fatal("k1 not stopped")
	}
}

type stopFail struct {
	*fakeSink
	err error
}

func (s *stopFail) Stop(context.Context) error { return s.err }
