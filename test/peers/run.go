package peers

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// RunOptions are what `scripts/peers.sh run <peer> [--port N] [--dir D]`
// passes to a peer's runner.
type RunOptions struct {
	Port int    // the port to serve on; 0: a free one
	Dir  string // where the peer keeps its data and log; a new temp dir if empty
	// Tables are HBase tables to create before READY (--table name:cf1,cf2):
	// table name -> column families. Only the hbase peer takes them.
	Tables map[string][]string
}

// Running is a peer started by a runner, in the foreground of `peers.sh run`.
type Running struct {
	Addr string                      // what READY prints: host:port, hdfs://..., http://...
	Info string                      // more for the user (printed to stderr), or empty
	Stop func() error                // stops the peer (SIGTERM, then SIGKILL)
	Wait func(context.Context) error // returns when the peer exits by itself
}

// Runner starts one peer for `peers.sh run` and returns once it serves.
type Runner func(ctx context.Context, o RunOptions) (*Running, error)

var runners = struct {
	sync.Mutex
	m map[string]Runner
}{m: map[string]Runner{}}

// registerRunner makes a peer runnable by name; each peer's file calls it
// from init.
func registerRunner(name string, r Runner) {
	runners.Lock()
	defer runners.Unlock()
	runners.m[name] = r
}

// Run starts the named peer.
func Run(ctx context.Context, name string, o RunOptions) (*Running, error) {
	runners.Lock()
	r, ok := runners.m[name]
	runners.Unlock()
	if !ok {
		return nil, fmt.Errorf("peers: no runner for %q (known: %v)", name, RunnerNames())
	}
	return r(ctx, o)
}

// RunnerNames lists the runnable peers.
func RunnerNames() []string {
	runners.Lock()
	defer runners.Unlock()
	var out []string
	for n := range runners.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// procRunning adapts a Proc to Running.
func procRunning(addr string, p *Proc) *Running {
	return &Running{Addr: addr, Stop: p.Stop, Wait: p.Wait}
}
