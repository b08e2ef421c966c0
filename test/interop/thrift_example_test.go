package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tierPlan is TestThriftTierExample's part of the shared Flume agent:
// examples/thrift-tier.conf with free ports for its fixed ones. err says
// why leaf2 is not in the agent.
type tierPlan struct {
	text  string
	ports map[string]int
	err   error
}

// planThriftTier adds the example's leaf2 to the shared Flume agent (its
// properties renamed to the agent's; see addAgent).
func planThriftTier(sp *sharedPlan) {
	example, err := os.ReadFile(filepath.Join(repoRoot(), "examples", "thrift-tier.conf"))
	if err != nil {
		sp.tier.err = err
		return
	}
	text := string(example)
	sp.tier.ports = map[string]int{}
	for _, fixed := range []string{"44453", "44454", "44455", "44456"} {
		if !strings.Contains(text, "port = "+fixed) {
			sp.tier.err = fmt.Errorf("examples/thrift-tier.conf no longer has port %s; update TestThriftTierExample", fixed)
			return
		}
		sp.tier.ports[fixed] = sp.port()
		text = strings.ReplaceAll(text, fixed, strconv.Itoa(sp.tier.ports[fixed]))
	}
	sp.tier.text = text
}

// TestThriftTierExample runs examples/thrift-tier.conf as it is but for its
// ports: the collector and leaf1 with the sluice binary, leaf2 (whose
// failover group's first sink goes to the collector) with Apache Flume 1.11
// (the shared agent, which runs leaf2's part of the same file). Both leaves
// get numbered lines over netcat; every line they acknowledged must reach
// the collector's file_roll output.
func TestThriftTierExample(t *testing.T) {
	const perLeaf = 20_000
	dir := t.TempDir()
	tier := planShared(t).tier
	if tier.err != nil {
		t.Fatal(tier.err)
	}
	ports := tier.ports
	conf := writeFile(t, filepath.Join(dir, "thrift-tier.conf"), []byte(tier.text))
	startAgent(t, dir, "collector", conf)
	startAgent(t, dir, "leaf1", conf)
	_, fl := sharedFlume(t)
	// Flume's netcat source logs no counters when it starts: its port says
	// leaf2 is up.
	waitPorts(t, addr(ports["44453"]), addr(ports["44454"]), addr(ports["44455"]))

	var acked atomic.Int64
	for _, leaf := range []struct{ name, port string }{{"leaf1", "44454"}, {"leaf2", "44455"}} {
		ok, err := sendNumbered(addr(ports[leaf.port]), leaf.name, perLeaf, &acked)
		if err != nil {
			t.Fatalf("%s: %v", leaf.name, err)
		}
		for i, o := range ok {
			if !o {
				t.Fatalf("%s did not acknowledge line %d", leaf.name, i)
			}
		}
	}
	out := filepath.Join(dir, "out", "thrift-tier")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		seen := tierOutput(t, out)
		missing := 0
		for _, leaf := range []string{"leaf1", "leaf2"} {
			for i := range perLeaf {
				if seen[fmt.Sprintf("%s-%08d", leaf, i)] == 0 {
					missing++
				}
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged lines never reached the collector's output\nFlume leaf2 log:\n%s",
				missing, 2*perLeaf, fl.LogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tierOutput counts the lines of the collector's file_roll files.
func tierOutput(t *testing.T, dir string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			seen[l]++
		}
	}
	return seen
}
