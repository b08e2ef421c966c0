package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

func noEnv(string) (string, bool) { return "", false }

// loadFiles writes texts as base.conf, over.conf (in that order) into a
// temporary directory and loads agent a1 from them.
func loadFiles(t *testing.T, texts ...string) (*AgentConfig, string) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, text := range texts {
		file := filepath.Join(dir, []string{"base.conf", "over.conf"}[i])
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	cfg, err := Load(files, "a1", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

// problem is one expected entry of AgentConfig.Errors; at is "file:line"
// relative to the directory of the files.
type problem struct {
	warning bool
	key     string
	at      string
	text    string
}

// wantProblems checks that exactly these problems were reported, each
// rendering as "key (dir/file:line): ...text...".
func wantProblems(t *testing.T, cfg *AgentConfig, dir string, want ...problem) {
	t.Helper()
	got := append([]*Error(nil), cfg.Errors...)
	for _, w := range want {
		prefix := fmt.Sprintf("%s (%s): ", w.key, filepath.Join(dir, w.at))
		found := -1
		for i, e := range got {
			if e.Warning == w.warning && strings.HasPrefix(e.Error(), prefix) && strings.Contains(e.Msg, w.text) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Errorf("missing %s %q containing %q", kindWord(w.warning), prefix, w.text)
			continue
		}
		got = append(got[:found], got[found+1:]...)
	}
	for _, e := range got {
		t.Errorf("unexpected %s: %v", kindWord(e.Warning), e)
	}
}

func kindWord(warning bool) string {
	if warning {
		return "warning"
	}
	return "error"
}

func TestLoadUserGuideNetcatExample(t *testing.T) {
	file := filepath.Join("testdata", "netcat", "flume.conf")
	cfg, err := Load([]string{file}, "a1", map[string]string{"x": "y"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) != 0 {
		t.Fatalf("problems: %v", cfg.Errors)
	}
	list := func(key, value string, line int) Prop {
		return Prop{Key: key, FullKey: "a1." + key, Value: value, File: file, Line: line}
	}
	prop := func(key, value string, line int) Prop {
		return Prop{Key: key[strings.LastIndex(key, ".")+1:], FullKey: key, Value: value, File: file, Line: line}
	}
	want := &AgentConfig{
		Agent:  "a1",
		System: map[string]string{"x": "y"},
		Sources: []*Component{{
			Kind: sluice.KindSource, Name: "r1", Type: "netcat",
			TypeProp: prop("a1.sources.r1.type", "netcat", 10),
			Declared: list("sources", "r1", 5),
			Props: []Prop{
				prop("a1.sources.r1.bind", "localhost", 11),
				prop("a1.sources.r1.port", "44444", 12),
			},
			Channels: []string{"c1"},
			Selector: &Sub{Type: "replicating"},
		}},
		Channels: []*Component{{
			Kind: sluice.KindChannel, Name: "c1", Type: "memory",
			TypeProp: prop("a1.channels.c1.type", "memory", 18),
			Declared: list("channels", "c1", 7),
			Props: []Prop{
				prop("a1.channels.c1.capacity", "1000", 19),
				prop("a1.channels.c1.transactionCapacity", "100", 20),
			},
		}},
		Sinks: []*Component{{
			Kind: sluice.KindSink, Name: "k1", Type: "logger",
			TypeProp: prop("a1.sinks.k1.type", "logger", 15),
			Declared: list("sinks", "k1", 6),
			Channel:  "c1",
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%s\nwant\n%s", dump(cfg), dump(want))
	}
}

func dump(c *AgentConfig) string {
	var b strings.Builder
	for _, list := range [][]*Component{c.Sources, c.Channels, c.Sinks, c.SinkGroups, c.ConfigFilters} {
		for _, x := range list {
			fmt.Fprintf(&b, "%+v\n", *x)
			for _, s := range append([]*Sub{x.Selector, x.Processor}, x.Interceptors...) {
				if s != nil {
					fmt.Fprintf(&b, "  sub %+v\n", *s)
				}
			}
		}
	}
	fmt.Fprintf(&b, "errors %v system %v", c.Errors, c.System)
	return b.String()
}

func TestLoadFullGraph(t *testing.T) {
	file := filepath.Join("testdata", "full", "flume.conf")
	cfg, err := Load([]string{file}, "a1", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) != 0 {
		t.Fatalf("problems (the other agent's keys must be ignored): %v", cfg.Errors)
	}
	r := cfg.Sources[0]
	if !reflect.DeepEqual(r.Channels, []string{"c2", "c1"}) {
		t.Errorf("channels %v, want list order", r.Channels)
	}
	if keys(r.Props) != "port" {
		t.Errorf("source props %s: the graph's keys must be taken out", keys(r.Props))
	}
	if r.Selector.Type != "multiplexing" || r.Selector.TypeProp.Line != 10 ||
		keys(r.Selector.Props) != "header mapping.CA default" || r.Selector.Props[1].FullKey != "a1.sources.r1.selector.mapping.CA" {
		t.Errorf("selector %+v", *r.Selector)
	}
	if len(r.Interceptors) != 2 {
		t.Fatalf("interceptors %v", r.Interceptors)
	}
	ts, host := r.Interceptors[0], r.Interceptors[1]
	if ts.Name != "ts" || ts.Type != "timestamp" || ts.TypeProp.Line != 17 || len(ts.Props) != 0 {
		t.Errorf("first interceptor %+v, want ts (list order)", *ts)
	}
	if host.Name != "host" || host.Type != "host" || keys(host.Props) != "hostHeader" || host.Props[0].Value != "hostname" {
		t.Errorf("second interceptor %+v", *host)
	}
	if len(cfg.Channels) != 2 || cfg.Channels[1].Type != "file" || keys(cfg.Channels[1].Props) != "checkpointDir" {
		t.Errorf("channels %s", dump(cfg))
	}
	if cfg.Sinks[1].Channel != "c2" || keys(cfg.Sinks[1].Props) != "hostname port" {
		t.Errorf("sink k2 %+v", *cfg.Sinks[1])
	}
	g := cfg.SinkGroups[0]
	if g.Kind != sluice.KindSinkProcessor || g.Type != "failover" || g.TypeProp.Line != 33 ||
		!reflect.DeepEqual(g.Sinks, []string{"k2", "k1"}) || len(g.Props) != 0 ||
		g.Processor.Type != "failover" || keys(g.Processor.Props) != "priority.k1 priority.k2" {
		t.Errorf("group %+v processor %+v", *g, *g.Processor)
	}
}

func keys(ps []Prop) string {
	var k []string
	for _, p := range ps {
		k = append(k, p.Key)
	}
	return strings.Join(k, " ")
}

func TestLoadDefaults(t *testing.T) {
	cfg, _ := loadFiles(t, `
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sinkgroups = g1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinkgroups.g1.sinks = k1
`)
	if len(cfg.Errors) != 0 {
		t.Fatal(cfg.Errors)
	}
	if s := cfg.Sources[0].Selector; s == nil || s.Type != "replicating" || s.TypeProp.FullKey != "" {
		t.Errorf("selector %+v, want replicating by default", s)
	}
	if g := cfg.SinkGroups[0]; g.Type != "default" || g.Processor == nil || g.Processor.Type != "default" {
		t.Errorf("group %+v, want processor type default", g)
	}
}

// TestLoadBroken checks that every problem of a file is reported in one go,
// each at its file:line with its full key.
func TestLoadBroken(t *testing.T) {
	file := filepath.Join("testdata", "broken", "flume.conf")
	cfg, err := Load([]string{file}, "a1", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, cfg, "testdata/broken",
		problem{false, "a1.sources", "flume.conf:2", `source name "src.3" contains a dot`},
		problem{false, "a1.channels.c3", "flume.conf:3", `channel "c3" is listed but has no keys`},
		problem{true, "a1.sink", "flume.conf:6", `did you mean "a1.sinks"?`},
		problem{false, "a1.sources.r1.chanels", "flume.conf:9", `source "r1" has no channels (a1.sources.r1.channels = c1 ...); did you mean "channels" instead of "chanels"?`},
		problem{false, "a1.sources.r1.interceptors.i2.type", "flume.conf:10", `interceptor "i2" of source "r1" has no type`},
		problem{true, "a1.sources.r1.interceptors.i3", "flume.conf:12", `interceptor "i3" has keys but is not listed in a1.sources.r1.interceptors`},
		problem{false, "a1.sources.r2.type", "flume.conf:2", `source "r2" has no type`},
		problem{false, "a1.sources.r2.channels", "flume.conf:14", `channel "c9" is not declared in a1.channels (did you mean "c1"?)`},
		problem{true, "a1.sources.r9", "flume.conf:15", `source "r9" has keys but is not listed in a1.sources`},
		problem{false, "a1.channels.c2.typ", "flume.conf:18", `channel "c2" has no type; did you mean "type" instead of "typ"?`},
		problem{false, "a1.sinks.k1.channels", "flume.conf:21", `sink "k1" has no channel (a sink drains exactly one: a1.sinks.k1.channel = c1); did you mean "channel" instead of "channels"?`},
		problem{false, "a1.sinks.k2.channel", "flume.conf:23", `a sink drains exactly one channel, not 2 ("c1 c2")`},
		problem{false, "a1.sinks.k3.channel", "flume.conf:25", `channel "c4" is not declared in a1.channels (did you mean "c1"?)`},
		problem{false, "a1.sinkgroups.g1.sinks", "flume.conf:31", `sink "k9" is not declared in a1.sinks`},
		problem{false, "a1.sinkgroups.g2.sinks", "flume.conf:32", `sink "k4" is already in another sink group (a1.sinkgroups.g1.sinks at ` + file + `:31)`},
		problem{true, "a1.foo", "flume.conf:33", "ignored: Flume reads only a1.sources, .channels"},
	)
	// Sorted by position, for a readable report.
	for i := 1; i < len(cfg.Errors); i++ {
		if cfg.Errors[i-1].Line > cfg.Errors[i].Line {
			t.Errorf("not sorted: %v before %v", cfg.Errors[i-1], cfg.Errors[i])
		}
	}
	if len(cfg.Errs()) != 12 || len(cfg.Warnings()) != 4 {
		t.Errorf("Errs %d, Warnings %d", len(cfg.Errs()), len(cfg.Warnings()))
	}
}

func TestLoadProblems(t *testing.T) {
	// Each case is base.conf (ok unless given) plus, if given, over.conf
	// laid over it; its problems must be exactly these.
	ok := "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n" +
		"a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n" +
		"a1.channels.c1.type = memory\n" +
		"a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
	tests := []struct {
		name       string
		base, over string
		want       []problem
	}{
		{"valid", ok, "", nil},
		{"no channels", "a1.sources = r1\na1.sources.r1.type = seq\n", "", []problem{
			{false, "a1.channels", "base.conf:1", `agent "a1" declares no channels`},
			{false, "a1.sources.r1.channels", "base.conf:1", `source "r1" has no channels`},
		}},
		{"neither sources nor sinks", "a1.channels = c1\na1.channels.c1.type = memory\n", "", []problem{
			{false, "a1.sources", "base.conf:1", "declares neither sources nor sinks"},
			{true, "a1.channels.c1", "base.conf:1", `channel "c1" is declared but no source writes to it and no sink drains it`},
		}},
		{"listed without keys", ok, "a1.sinks = k1 k2\n", []problem{
			{false, "a1.sinks.k2", "over.conf:1", `sink "k2" is listed but has no keys (a1.sinks.k2.type = ...)`},
		}},
		{"listed without keys, did you mean", ok, "a1.sinks = k1 sinkA\na1.sinks.sinkB.type = null\n", []problem{
			{false, "a1.sinks.sinkA", "over.conf:1", `did you mean "sinkB", which has keys?`},
			{true, "a1.sinks.sinkB", "over.conf:2", `sink "sinkB" has keys but is not listed in a1.sinks; it is ignored`},
		}},
		{"no type", ok, "a1.channels = c1 c2\na1.channels.c2.capacity = 5\na1.sinks.k1.channel = c2\n", []problem{
			{false, "a1.channels.c2.type", "over.conf:1", `channel "c2" has no type`},
		}},
		{"misspelled type", ok, "a1.sinks.k1.type = \na1.sinks.k1.tpye = null\n", []problem{
			{true, "a1.sinks.k1.type", "over.conf:1", "empty value"},
			{false, "a1.sinks.k1.tpye", "over.conf:2", `sink "k1" has no type; did you mean "type" instead of "tpye"?`},
		}},
		{"misspelling beside the right key", ok, "a1.sinks.k1.channels = c1\na1.sources.r1.channel = c1\n", []problem{
			{true, "a1.sinks.k1.channels", "over.conf:1", `ignored: sink "k1" has no property "channels" (did you mean "channel"?)`},
			{true, "a1.sources.r1.channel", "over.conf:2", `ignored: source "r1" has no property "channel" (did you mean "channels"?)`},
		}},
		{"source channel singular", strings.Replace(ok, "r1.channels", "r1.channel", 1), "", []problem{
			{false, "a1.sources.r1.channel", "base.conf:5", `source "r1" has no channels (a1.sources.r1.channels = c1 ...); did you mean "channels" instead of "channel"?`},
		}},
		{"source without channels", strings.Replace(ok, "a1.sources.r1.channels = c1\n", "", 1), "", []problem{
			{false, "a1.sources.r1.channels", "base.conf:1", `source "r1" has no channels`},
		}},
		{"sink without channel", strings.Replace(ok, "a1.sinks.k1.channel = c1\n", "", 1), "", []problem{
			{false, "a1.sinks.k1.channel", "base.conf:3", `sink "k1" has no channel`},
		}},
		{"undeclared channel", ok, "a1.sources.r1.channels = c1 memChannel\n", []problem{
			{false, "a1.sources.r1.channels", "over.conf:1", `channel "memChannel" is not declared in a1.channels`},
		}},
		{"channel listed twice", ok, "a1.sources.r1.channels = c1 c1\n", []problem{
			{true, "a1.sources.r1.channels", "over.conf:1", `channel "c1" is listed twice`},
		}},
		{"component listed twice", ok, "a1.sources = r1 r1\n", []problem{
			{true, "a1.sources", "over.conf:1", `source "r1" is listed twice`},
		}},
		{"dotted component name", ok, "a1.channels = c1 mem.fast\na1.channels.mem.fast.type = memory\n", []problem{
			{false, "a1.channels", "over.conf:1", `in a1.channels.mem.fast.type the name ends at the first dot ("mem") and the rest ("fast.type") is read as the property; rename it, e.g. "mem_fast"`},
		}},
		{"comma-separated list", ok, "a1.channels = c1,c2\na1.channels.c2.type = memory\n", []problem{
			{false, "a1.channels", "over.conf:1", `"c1,c2": names in a list are separated by blanks, not commas`},
			{false, "a1.sources.r1.channels", "base.conf:5", `channel "c1" is not declared`},
			{false, "a1.sinks.k1.channel", "base.conf:8", `channel "c1" is not declared`},
		}},
		{"not listed", ok, "a1.sources.r2.type = seq\na1.sinkgroups.g1.sinks = k1\n", []problem{
			{true, "a1.sources.r2", "over.conf:1", `source "r2" has keys but is not listed in a1.sources; it is ignored`},
			{true, "a1.sinkgroups.g1", "over.conf:2", `sink group "g1" has keys but there is no a1.sinkgroups list; it is ignored`},
		}},
		{"grammar", ok, "a1.sources.r1 = x\na1.source.r1.type = seq\na1.whatever = 1\n", []problem{
			{true, "a1.sources.r1", "over.conf:1", "ignored: a source property is written a1.sources.<name>.<property>"},
			{true, "a1.source.r1.type", "over.conf:2", `ignored: not a key Flume reads (did you mean "a1.sources.r1.type"?)`},
			{true, "a1.whatever", "over.conf:3", "ignored: Flume reads only"},
		}},
		{"misspelled list key is an error when the list is missing", strings.Replace(ok, "a1.sinks = k1", "a1.sink = k1", 1), "", []problem{
			{false, "a1.sink", "base.conf:3", `ignored: not a key Flume reads (did you mean "a1.sinks"?)`},
			{true, "a1.sinks.k1", "base.conf:7", "there is no a1.sinks list"},
		}},
		{"sink group problems", ok, "a1.sinks = k1 k2\na1.sinks.k2.type = null\na1.sinks.k2.channel = c1\n" +
			"a1.sinkgroups = g1 g2 g3\n" +
			"a1.sinkgroups.g1.sinks = k1 k3\n" +
			"a1.sinkgroups.g2.sinks = k2 k1\n" +
			"a1.sinkgroups.g3.processor.type = failover\n" +
			"a1.sinkgroups.g3.sink = k2\n" +
			"a1.sinkgroups.g3.type = failover\n", []problem{
			{false, "a1.sinkgroups.g1.sinks", "over.conf:5", `sink "k3" is not declared in a1.sinks (did you mean "k1"?)`},
			{false, "a1.sinkgroups.g2.sinks", "over.conf:6", `sink "k1" is already in another sink group (a1.sinkgroups.g1.sinks at `},
			{false, "a1.sinkgroups.g3.sink", "over.conf:8", `sink group "g3" has no sinks (a1.sinkgroups.g3.sinks = k1 k2); did you mean "sinks" instead of "sink"?`},
			{true, "a1.sinkgroups.g3.type", "over.conf:9", `ignored: a sink group's type is its processor's (did you mean "a1.sinkgroups.g3.processor.type"?)`},
		}},
		{"interceptors", ok, "a1.sources.r1.interceptors = i1 i2\na1.sources.r1.interceptors.i1.type = host\n" +
			"a1.sources.r1.interceptors.i2.useIP = false\na1.sources.r1.interceptors.i9.type = host\n" +
			"a1.sources.r1.interceptors.i1 = x\n", []problem{
			{false, "a1.sources.r1.interceptors.i2.type", "over.conf:1", `interceptor "i2" of source "r1" has no type`},
			{true, "a1.sources.r1.interceptors.i9", "over.conf:4", `interceptor "i9" has keys but is not listed`},
			{true, "a1.sources.r1.interceptors.i1", "over.conf:5", "ignored: an interceptor property is written a1.sources.r1.interceptors.<name>.<property>"},
		}},
		{"misspelled interceptors and selector", ok, "a1.sources.r1.interceptor = i1\na1.sources.r1.selector = multiplexing\n", []problem{
			{true, "a1.sources.r1.interceptor", "over.conf:1", `ignored: source "r1" has no property "interceptor" (did you mean "interceptors"?)`},
			{true, "a1.sources.r1.selector", "over.conf:2", `did you mean "a1.sources.r1.selector.type"?`},
		}},
		{"empty value", ok, "a1.sources.r1.batchSize =\n", []problem{
			{true, "a1.sources.r1.batchSize", "over.conf:1", "empty value: Flume ignores keys without a value"},
		}},
		{"duplicate key in one file", ok + "a1.sources.r1.type = netcat\n", "", []problem{
			{true, "a1.sources.r1.type", "base.conf:9", "set twice, at "},
		}},
		{"inline comment", ok, "a1.sources.r1.batchSize = 10 # events\n", []problem{
			{true, "a1.sources.r1.batchSize", "over.conf:1", `the " #..." at the end is part of the value`},
		}},
		{"malformed escape", ok, "a1.sources.r1.x = \\uZZZZ\n", []problem{
			{false, "a1.sources.r1.x", "over.conf:1", `malformed \uXXXX escape`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			texts := []string{tt.base}
			if tt.over != "" {
				texts = append(texts, tt.over)
			}
			cfg, dir := loadFiles(t, texts...)
			wantProblems(t, cfg, dir, tt.want...)
		})
	}
}

func TestLoadOtherAgentsIgnored(t *testing.T) {
	cfg, _ := loadFiles(t, `
a2.sources = x
a2.sources.x.typ = y
a2.bogus = 1
a2.sources.x.dup = 1
a2.sources.x.dup = 2
a2.sources.x.bad = \u12
a1.channels = c1
a1.channels.c1.type = memory
a1.sinks = k1
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a2.channels = c1
helper = 5
`)
	if len(cfg.Errors) != 0 {
		t.Errorf("problems of other agents must not be reported: %v", cfg.Errors)
	}
	if len(cfg.Sinks) != 1 || len(cfg.Sources) != 0 {
		t.Errorf("graph %s", dump(cfg))
	}
}

func TestLoadAgentMissing(t *testing.T) {
	file := filepath.Join("testdata", "full", "flume.conf")
	cfg, err := Load([]string{file}, "al", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) != 1 {
		t.Fatalf("problems %v", cfg.Errors)
	}
	want := `agent "al" is not configured in ` + file + `; agents there: "a1", "a2" (did you mean "a1"?)`
	if got := cfg.Errors[0].Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	cfg, _ = loadFiles(t, "# nothing\nhelper = 1\n")
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Msg, "no agent is configured there") {
		t.Errorf("problems %v", cfg.Errors)
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte("a1.channels = c1\n"), 0o644)
	missing := filepath.Join(dir, "missing.conf")
	_, err := Load([]string{good, missing}, "a1", nil, noEnv)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v, want one naming %s", err, missing)
	}
}

func TestLoadSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join("testdata", "netcat", "flume.conf")
	over := filepath.Join(dir, "override.conf")
	os.WriteFile(over, []byte("a1.sources.r1.port = 5555\na1.channels.c1.capacity =\n"), 0o644)
	cfg, err := Load([]string{base, over}, "a1", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Sources[0]
	if p := r.Props[1]; p.Key != "port" || p.Value != "5555" || p.File != over || p.Line != 1 {
		t.Errorf("port %+v, want the override", p)
	}
	// An empty value in a later file removes the key, as in Flume.
	if k := keys(cfg.Channels[0].Props); k != "transactionCapacity" {
		t.Errorf("channel props %s", k)
	}
	wantProblems(t, cfg, dir, problem{true, "a1.channels.c1.capacity", "override.conf:2", "empty value"})
}

func TestNearMiss(t *testing.T) {
	targets := []string{"type", "channel"}
	for in, want := range map[string]string{
		"typ": "type", "tpye": "type", "types": "type", "Type": "", "type": "",
		"time": "", "topic": "", "charset": "", "chanel": "channel", "channles": "channel", "chnnels": "channel",
	} {
		got, ok := nearMiss(in, targets)
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("nearMiss(%q) = %q, want %q", in, got, want)
		}
	}
}
