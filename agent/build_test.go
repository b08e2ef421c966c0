package agent

import (
	"strings"
	"testing"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// base is a valid agent a1 (seq -> memory c1 -> null k1); cases append to it
// or override its keys (a later key wins, as in Java properties).
var base = []string{
	"a1.sources = r1",              // 1
	"a1.channels = c1",             // 2
	"a1.sinks = k1",                // 3
	"a1.sources.r1.type = seq",     // 4
	"a1.sources.r1.channels = c1",  // 5
	"a1.channels.c1.type = memory", // 6
	"a1.sinks.k1.type = null",      // 7
	"a1.sinks.k1.channel = c1",     // 8
}

func with(extra ...string) []string { return append(append([]string(nil), base...), extra...) }

// TestBuildErrors checks one error of each class: its full key, its
// file:line and its message.
func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		key   string
		line  int
		msg   string
	}{
		{"unknown source type",
			with("a1.sources.r1.type = netcatt"), // a later value on line 9 wins
			"a1.sources.r1.type", 9, `unknown source type "netcatt" (did you mean "netcat"?)`},
		{"unknown channel type",
			with("a1.channels.c1.type = memroy"),
			"a1.channels.c1.type", 9, `unknown channel type "memroy" (did you mean "memory"?)`},
		{"unknown sink type",
			with("a1.sinks.k1.type = loger"),
			"a1.sinks.k1.type", 9, `unknown sink type "loger" (did you mean "logger"?)`},
		{"unknown selector type",
			with("a1.sources.r1.selector.type = multiplex"),
			"a1.sources.r1.selector.type", 9, `unknown channel selector type "multiplex" (did you mean "multiplexing"?)`},
		{"unknown interceptor type",
			with("a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = timestmp"),
			"a1.sources.r1.interceptors.i1.type", 10, `unknown interceptor type "timestmp" (did you mean "timestamp"?)`},
		{"unknown sink processor type",
			with("a1.sinkgroups = g1", "a1.sinkgroups.g1.sinks = k1", "a1.sinkgroups.g1.processor.type = failovr"),
			"a1.sinkgroups.g1.processor.type", 11, `unknown sink processor type "failovr" (did you mean "failover"?)`},
		{"unknown type without a near name lists the known ones",
			with("a1.channels.c1.type = zzzzzzzzzzzz"),
			"a1.channels.c1.type", 9, `unknown channel type "zzzzzzzzzzzz" (known: `},
		{"not a number",
			with("a1.channels.c1.capacity = abc"),
			"a1.channels.c1.capacity", 9, `"abc" is not a whole number`},
		{"not a bool",
			[]string{"a1.sources = r1", "a1.channels = c1", "a1.sources.r1.type = netcat", "a1.sources.r1.channels = c1",
				"a1.sources.r1.bind = 127.0.0.1", "a1.sources.r1.port = 0", "a1.sources.r1.ack-every-event = yes",
				"a1.channels.c1.type = memory"},
			"a1.sources.r1.ack-every-event", 7, `"yes" is not true or false`},
		{"required property missing is placed at the type line",
			[]string{"a1.sources = r1", "a1.channels = c1", "a1.sources.r1.channels = c1", "a1.sources.r1.type = netcat",
				"a1.sources.r1.bind = 127.0.0.1", "a1.channels.c1.type = memory"},
			"a1.sources.r1.port", 4, `required property "port" is missing`},
		{"Validate error is placed at the property",
			with("a1.channels.c1.transactionCapacity = 10", "a1.channels.c1.capacity = 0"),
			"a1.channels.c1.capacity", 10, `"0" must be greater than 0`},
		{"selector maps to a channel the source lacks",
			with("a1.sources.r1.selector.type = multiplexing", "a1.sources.r1.selector.header = h",
				"a1.sources.r1.selector.mapping.CA = c9", "a1.sources.r1.selector.default = c1"),
			"a1.sources.r1.selector.mapping.CA", 11, `channel "c9" is not one of source r1's channels (c1); did you mean "c1"?`},
		{"sink batch larger than the channel's transactionCapacity",
			[]string{"a1.channels = c1", "a1.sinks = k1", "a1.channels.c1.type = memory",
				"a1.channels.c1.transactionCapacity = 50", "a1.sinks.k1.channel = c1",
				"a1.sinks.k1.type = test-agent-sink", "a1.sinks.k1.batchSize = 51"},
			"a1.sinks.k1.type", 6, "batch size 51 is larger than channel c1's transactionCapacity 50"},
		{"Validate error naming no property is placed at the type line",
			[]string{"a1.channels = c1", "a1.sinks = k1", "a1.channels.c1.type = memory", "a1.sinks.k1.channel = c1",
				"a1.sinks.k1.type = test-agent-sink", "a1.sinks.k1.batchSize = -1"},
			"a1.sinks.k1.type", 5, "a negative batch size makes no sense"},
		{"source type that makes no source",
			with("a1.sources.r1.type = test-agent-wrongkind"),
			"a1.sources.r1.type", 9, `type "test-agent-wrongkind" is not a source`},
		{"interceptor type that makes no interceptor",
			with("a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = test-agent-wrongkind"),
			"a1.sources.r1.interceptors.i1.type", 10, `type "test-agent-wrongkind" is not an interceptor`},
		{"Validate error of a selector naming no property",
			with("a1.sources.r1.selector.type = test-agent-selector"),
			"a1.sources.r1.selector.type", 9, "a negative batch size makes no sense"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, problems := Build(parse(tc.lines...), sluicetest.Logger())
			if a == nil {
				t.Fatal("Build returned no agent")
			}
			errs := errorsOf(problems)
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d: %v", len(errs), problems)
			}
			e := errs[0]
			if e.Key != tc.key || e.File != "agent.conf" || e.Line != tc.line {
				t.Errorf("error at %s (%s:%d), want %s (agent.conf:%d): %v", e.Key, e.File, e.Line, tc.key, tc.line, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tc.msg)
			}
		})
	}
}

// TestBuildRefusesOversizedSinkBatch checks that the refused sink is not
// built, so the agent cannot run it.
func TestBuildRefusesOversizedSinkBatch(t *testing.T) {
	a, problems := Build(parse("a1.channels = c1", "a1.sinks = k1", "a1.channels.c1.type = memory",
		"a1.channels.c1.transactionCapacity = 50", "a1.sinks.k1.channel = c1",
		"a1.sinks.k1.type = test-agent-sink", "a1.sinks.k1.batchSize = 50"), sluicetest.Logger())
	if errs := errorsOf(problems); len(errs) != 0 {
		t.Fatalf("batchSize equal to transactionCapacity must be accepted: %v", errs)
	}
	if len(a.sinks) != 1 {
		t.Fatalf("built %d sinks, want 1", len(a.sinks))
	}
	a, problems = Build(parse("a1.channels = c1", "a1.sinks = k1", "a1.channels.c1.type = memory",
		"a1.channels.c1.transactionCapacity = 50", "a1.sinks.k1.channel = c1",
		"a1.sinks.k1.type = test-agent-sink", "a1.sinks.k1.batchSize = 51"), sluicetest.Logger())
	if len(errorsOf(problems)) != 1 {
		t.Fatalf("want one error, got %v", problems)
	}
	if len(a.sinks) != 0 || len(a.runners) != 0 {
		t.Errorf("refused sink was built anyway: %d sinks, %d runners", len(a.sinks), len(a.runners))
	}
}

// TestBuildReportsAllErrorsInFileOrder checks that problems in several
// components come back together, sorted by line whatever the build order
// (channels, then sources, then sinks).
func TestBuildReportsAllErrorsInFileOrder(t *testing.T) {
	lines := []string{
		"a1.sinks = k1 k2",                 // 1
		"a1.sinks.k1.type = nul",           // 2: unknown type
		"a1.sinks.k1.channel = c1",         // 3
		"a1.sinks.k2.type = null",          // 4
		"a1.sinks.k2.channel = c1",         // 5
		"a1.sinks.k2.batchSize = many",     // 6: not a number
		"a1.sources = r1",                  // 7
		"a1.sources.r1.type = seq",         // 8
		"a1.sources.r1.channels = c1",      // 9
		"a1.sources.r1.totalEvents = -1",   // 10: Validate
		"a1.sources.r1.batchSise = 5",      // 11: unknown key (a warning)
		"a1.channels = c1",                 // 12
		"a1.channels.c1.type = memory",     // 13
		"a1.channels.c1.keep-alive = soon", // 14: not a duration
	}
	_, problems := Build(parse(lines...), sluicetest.Logger())
	type at struct {
		key  string
		line int
		warn bool
	}
	want := []at{
		{"a1.sinks.k1.type", 2, false},
		{"a1.sinks.k2.batchSize", 6, false},
		{"a1.sources.r1.totalEvents", 10, false},
		{"a1.sources.r1.batchSise", 11, true},
		{"a1.channels.c1.keep-alive", 14, false},
	}
	var got []at
	for _, p := range problems {
		got = append(got, at{p.Key, p.Line, p.Warning})
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), joinErrs(problems))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d is %+v, want %+v\n%s", i, got[i], want[i], joinErrs(problems))
		}
	}
}

// TestBuildUnknownPropertyIsAWarning checks that a misspelt key is reported
// with a suggestion but does not stop the agent.
func TestBuildUnknownPropertyIsAWarning(t *testing.T) {
	a, problems := Build(parse(with("a1.channels.c1.capacty = 5")...), sluicetest.Logger())
	if errs := errorsOf(problems); len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if len(problems) != 1 {
		t.Fatalf("want one warning, got %v", problems)
	}
	w := problems[0]
	if !w.Warning || w.Key != "a1.channels.c1.capacty" || w.File != "agent.conf" || w.Line != 9 ||
		w.Msg != `unknown property "capacty" (did you mean "capacity"?)` {
		t.Errorf("warning = %+v", *w)
	}
	if len(a.channels) != 1 || len(a.sources) != 1 || len(a.sinks) != 1 || len(a.runners) != 1 {
		t.Errorf("agent not fully built: %d channels, %d sources, %d sinks, %d runners",
			len(a.channels), len(a.sources), len(a.sinks), len(a.runners))
	}
}

// TestBuildKeepsGraphErrors checks that problems found while wiring the
// graph come out of Build too, with the component problems.
func TestBuildKeepsGraphErrors(t *testing.T) {
	_, problems := Build(parse(with("a1.sources.r1.channels = c1 c7", "a1.channels.c1.capacity = x")...), sluicetest.Logger())
	var keys []string
	for _, p := range errorsOf(problems) {
		keys = append(keys, p.Key)
	}
	if strings.Join(keys, " ") != "a1.sources.r1.channels a1.channels.c1.capacity" {
		t.Errorf("errors at %v, want the graph's then the channel's:\n%s", keys, joinErrs(problems))
	}
}

func TestBuildEmptyAgent(t *testing.T) {
	_, problems := Build(&conf.AgentConfig{Agent: "a1"}, nil)
	if len(problems) != 1 || problems[0].Warning || !strings.Contains(problems[0].Msg, "no sources and no sinks") {
		t.Errorf("problems = %v", problems)
	}
}

func joinErrs(problems []*conf.Error) string {
	var b strings.Builder
	for _, p := range problems {
		b.WriteString("  " + p.Error())
		if p.Warning {
			b.WriteString(" [warning]")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestBuildRelativeKeyLikeAgentName checks that a missing property whose
// name begins like the agent's name (agent "sink", file_roll's
// "sink.directory") still gets the component's full key and position.
func TestBuildRelativeKeyLikeAgentName(t *testing.T) {
	props := conf.ParseProperties([]byte(strings.Join([]string{
		"sink.channels = c1",
		"sink.sinks = k1",
		"sink.channels.c1.type = memory",
		"sink.sinks.k1.channel = c1",
		"sink.sinks.k1.type = file_roll",
	}, "\n")), "agent.conf")
	_, problems := Build(conf.Build(props, "sink", nil, func(string) (string, bool) { return "", false }), sluicetest.Logger())
	errs := errorsOf(problems)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", problems)
	}
	want := conf.Error{Key: "sink.sinks.k1.sink.directory", File: "agent.conf", Line: 5, Msg: `required property "sink.directory" is missing`}
	if *errs[0] != want {
		t.Errorf("got  %+v\nwant %+v", *errs[0], want)
	}
}

func TestMissingSinkTypeIsOneError(t *testing.T) {
	_, problems := Build(parse(
		"a1.channels = c1",
		"a1.sinks = k1",
		"a1.channels.c1.type = memory",
		"a1.sinks.k1.channel = c1",
	), sluicetest.Logger())
	errs := errorsOf(problems)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `sink "k1" has no type`) || strings.Contains(errs[0].Error(), "command line") {
		t.Errorf("want one error at the sink's line, got %v", errs)
	}
}
