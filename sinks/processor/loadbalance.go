package processor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// LoadBalanceConfig holds the load_balance processor's properties.
type LoadBalanceConfig struct {
	Selector   string        `flume:"selector" doc:"order in which sinks are tried: round_robin or random"`
	Backoff    bool          `flume:"backoff" doc:"blacklist a failed sink for an exponentially growing time"`
	MaxTimeOut time.Duration `flume:"selector.maxTimeOut" unit:"ms" doc:"upper limit of a failed sink's blacklisting (0 means the default, as in Flume)"`
}

const defaultMaxTimeOut = 30000 * time.Millisecond

func loadBalanceConfig() *LoadBalanceConfig {
	return &LoadBalanceConfig{Selector: "round_robin", MaxTimeOut: defaultMaxTimeOut}
}

var selectors = []string{"round_robin", "random"}

// Validate checks the selector name.
func (c *LoadBalanceConfig) Validate() error {
	s := strings.ToLower(strings.TrimSpace(c.Selector))
	if s == "round_robin" || s == "random" {
		return nil
	}
	if strings.Contains(c.Selector, ".") {
		return conf.Invalid("selector", "custom sink selector classes such as %q are not supported; use round_robin or random", c.Selector)
	}
	msg := fmt.Sprintf("%q is not a sink selector; use round_robin or random", c.Selector)
	if sg := conf.Suggest(s, selectors); sg != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", sg)
	}
	return conf.Invalid("selector", "%s", msg)
}

// LoadBalance spreads calls over its sinks: each call tries the sinks in
// the selector's order until one does not fail, and returns that sink's
// status (Backoff included). With backoff, a failed sink is left out of
// the order for a time that doubles while it keeps failing.
type LoadBalance struct {
	members
	now func() time.Time
	log *slog.Logger

	mu  sync.Mutex
	sel orderSelector
}

var _ sluice.SinkProcessor = (*LoadBalance)(nil)

func newLoadBalance(env sluice.Env, cfg *LoadBalanceConfig) (*LoadBalance, error) {
	if err := checkSinks(env.Sinks); err != nil {
		return nil, err
	}
	if len(env.Sinks) < 2 {
		return nil, fmt.Errorf("the load_balance sink processor needs at least two sinks, but the group has only %s; use the default processor for a single sink", env.Sinks[0].Name)
	}
	maxTO := cfg.MaxTimeOut
	if maxTO == 0 { // Flume ignores a zero selector.maxTimeOut
		maxTO = defaultMaxTimeOut
	}
	lb := &LoadBalance{members: members{sinks: env.Sinks}, now: time.Now, log: logger(env)}
	lb.sel = orderSelector{
		random:     strings.EqualFold(strings.TrimSpace(cfg.Selector), "random"),
		backoff:    cfg.Backoff,
		maxTimeout: maxTO,
		state:      make([]failState, len(env.Sinks)),
		rng:        rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	return lb, nil
}

// Process tries the sinks in the selector's order until one does not fail.
func (lb *LoadBalance) Process(ctx context.Context) (sluice.Status, error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return sluice.Backoff, err
	}
	now := lb.now()
	order := lb.sel.order(now)
	var tried []sinkFailure
	for _, i := range order {
		ns := lb.sinks[i]
		st, err := ns.Drain.Process(ctx)
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil { // stopping: the failure says nothing about the sink
			return sluice.Backoff, fmt.Errorf("sink %s: %w", ns.Name, err)
		}
		lb.sel.informFailure(i, lb.now())
		tried = append(tried, sinkFailure{name: ns.Name, until: lb.sel.blacklistedUntil(i), err: err})
		lb.log.Warn("load_balance sink processor: sink failed, trying the next one", "sink", ns.Name, "error", err)
	}
	e := &AllFailedError{Group: "load_balance", Reason: "every sink has failed", now: now}
	if len(order) == 0 {
		e.Reason = "every sink is backed off after failing"
	}
	e.Failures = tried
	// Name the blacklisted sinks that were not tried too.
	for i, ns := range lb.sinks {
		if !containsIndex(order, i) {
			e.Failures = append(e.Failures, sinkFailure{name: ns.Name, until: lb.sel.state[i].restore})
		}
	}
	return sluice.Backoff, e
}

func containsIndex(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
