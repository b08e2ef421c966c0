package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// One Apache Flume agent serves TestFlumeToSluice, TestSluiceToFlume,
// TestThrift, TestThriftTierExample (as its leaf2), TestHTTPSourceAnswersAsFlume,
// TestHTTPSinkToFlume and TestSyslogSourcesMatchFlume: a JVM start and its
// warm-up cost CI more than the cases themselves, and these tests only need
// Flume pipes that do not interfere. (TestCountersMatchFlumes runs its own:
// it compares a whole agent's monitoring output.) Flume reads its configuration once
// (--no-reload-conf), so every port and pipe of those tests is planned up
// front (sharedPlan); the agent starts when the first of them needs it and
// TestMain stops it.
//
// Pipes where Flume receives write to output directories that only grow:
// each serves one run of its case per test process (claim), so these tests
// run with -count=1.

// sharedPlan is the shared agent's layout: its ports, pipes and the parts of
// it each test uses.
type sharedPlan struct {
	dir   string // the agent's working directory; outputs under dir/out
	mon   int    // the agent's HTTP monitoring port
	pipes []pipe // every pipe of agent a1
	err   error  // the first port that could not be reserved

	f2s    []f2sRelay             // TestFlumeToSluice
	s2f    []s2fRelay             // TestSluiceToFlume
	s2fCli map[string]int         // TestSluiceToFlume's avro-client cases
	thrift map[string]thriftPorts // TestThrift, by variant
	tier   tierPlan               // TestThriftTierExample
	// TestHTTPSourceAnswersAsFlume, TestHTTPSinkToFlume,
	// TestSyslogSourcesMatchFlume: Flume's source ports.
	httpSrc  map[string]int
	httpSink []httpHop
	syslog   map[string]int

	mu      sync.Mutex
	claimed map[string]bool
}

var shared struct {
	planOnce, startOnce sync.Once
	plan                *sharedPlan
	fl                  *peers.Flume
	err                 error
}

// port reserves a free port for the agent's lifetime.
func (sp *sharedPlan) port() int {
	p, err := peers.Port()
	if err != nil && sp.err == nil {
		sp.err = err
	}
	return p
}

// outDir is a file_roll directory of the shared agent.
func (sp *sharedPlan) outDir(name string) string { return outDir(sp.dir, name) }

// claim fails t when another run of the same case already used the Flume
// pipe name in this process: its counters and output hold that run's events.
func (sp *sharedPlan) claim(t *testing.T, name string) {
	t.Helper()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.claimed[name] {
		t.Fatalf("the shared Flume agent's pipe %s serves one run per test process; run with -count=1", name)
	}
	sp.claimed[name] = true
}

// planShared returns the shared agent's layout, planning it on first use.
func planShared(t *testing.T) *sharedPlan {
	t.Helper()
	shared.planOnce.Do(func() {
		dir, err := os.MkdirTemp("", "interop-flume-")
		if err != nil {
			shared.err = fmt.Errorf("shared Flume agent: %w", err)
			return
		}
		sp := &sharedPlan{dir: dir, claimed: map[string]bool{}}
		sp.mon = sp.port()
		planFlumeToSluice(sp)
		planSluiceToFlume(sp)
		planThrift(sp)
		planThriftTier(sp)
		planHTTPSource(sp)
		planHTTPSink(sp)
		planSyslog(sp)
		if sp.err != nil {
			shared.err = fmt.Errorf("shared Flume agent: %w", sp.err)
		}
		shared.plan = sp
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.plan
}

// sharedFlume returns the shared agent, starting it on first use and
// waiting until every one of its sources is up. A test that fails gets the
// agent's log tail.
func sharedFlume(t *testing.T) (*sharedPlan, *peers.Flume) {
	t.Helper()
	peers.SkipIfShort(t)
	sp := planShared(t)
	shared.startOnce.Do(func() { shared.fl, shared.err = startShared(sp) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shared Flume agent (%s), last lines:\n%s", shared.fl.LogPath(), shared.fl.LogTail())
		}
	})
	return sp, shared.fl
}

func startShared(sp *sharedPlan) (*peers.Flume, error) {
	conf := agentConf("a1", sp.pipes)
	var sources []string
	for _, p := range sp.pipes {
		sources = append(sources, "r_"+p.name)
	}
	if sp.tier.err == nil {
		var err error
		conf, err = addAgent(conf, "a1", sp.tier.text, "leaf2")
		if err != nil {
			return nil, fmt.Errorf("shared Flume agent: examples/thrift-tier.conf: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(sp.dir, "flume"), 0o755); err != nil {
		return nil, err
	}
	fl, err := peers.StartFlumeProcess(context.Background(), peers.FlumeOptions{
		// No FastStartFlags: this JVM moves some 2 GB, much of it through TLS
		// and JZlib, which need the C2 compiler.
		Conf: conf, Heap: "768m", ReadyAddr: sp.pipes[0].source["bind"] + ":" + sp.pipes[0].source["port"],
		JVMFlags: monitorFlags(sp.mon), Dir: filepath.Join(sp.dir, "flume"),
	})
	if err != nil {
		return nil, fmt.Errorf("shared Flume agent: %w", err)
	}
	// Flume logs a source as started only once it bound its port; one that
	// could not bind leaves the agent running without it. (leaf2's netcat
	// source logs nothing: TestThriftTierExample waits for its port.)
	for _, s := range sources {
		if err := fl.WaitLog("Component type: SOURCE, name: "+s+" started", 60*time.Second); err != nil {
			_ = fl.Stop()
			return nil, fmt.Errorf("shared Flume agent: %w", err)
		}
	}
	return fl, nil
}

// stopShared ends the shared agent, if it ran, and removes its directory.
// SIGKILL: every test read what the agent wrote, and its sinks towards
// Sluice agents that have stopped keep a SIGTERM waiting past its grace.
func stopShared() {
	if shared.fl != nil {
		if err := shared.fl.Kill(); err != nil {
			fmt.Fprintf(os.Stderr, "shared Flume agent: %v\n", err)
		}
	}
	if shared.plan != nil {
		_ = os.RemoveAll(shared.plan.dir)
	}
}

// addAgent merges the properties of agent from in text into conf, agent
// to's configuration: from's component lists join to's, its other
// properties are renamed to to's. Component names must not clash.
func addAgent(conf, to, text, from string) (string, error) {
	lists := map[string]string{}
	var props []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, from+".") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return "", fmt.Errorf("line %q has no '='", line)
		}
		key, val = strings.TrimSpace(strings.TrimPrefix(key, from+".")), strings.TrimSpace(val)
		switch key {
		case "sources", "channels", "sinks", "sinkgroups":
			lists[key] = val
		default:
			props = append(props, to+"."+key+" = "+val)
		}
	}
	if len(lists) == 0 {
		return "", fmt.Errorf("no agent %q", from)
	}
	lines := strings.Split(conf, "\n")
	keys := make([]string, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		found := false
		for i, l := range lines {
			if name, have, ok := strings.Cut(l, " = "); ok && name == to+"."+k {
				for _, c := range strings.Fields(lists[k]) {
					if strings.Contains(" "+have+" ", " "+c+" ") {
						return "", fmt.Errorf("%s %s of agent %s clashes with agent %s's", k, c, from, to)
					}
				}
				lines[i], found = l+" "+lists[k], true
			}
		}
		if !found {
			lines = append([]string{to + "." + k + " = " + lists[k]}, lines...)
		}
	}
	return strings.Join(lines, "\n") + "\n" + strings.Join(props, "\n") + "\n", nil
}
