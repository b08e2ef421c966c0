package selector

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// LoadBalancingConfig holds the load_balancing selector's one property.
type LoadBalancingConfig struct {
	Policy string `flume:"policy" doc:"round_robin or random"`
}

var policies = []string{"round_robin", "random"}

// Validate accepts the policy names in any case, as Flume does.
func (c *LoadBalancingConfig) Validate() error {
	p := strings.ToLower(c.Policy)
	for _, known := range policies {
		if p == known {
			return nil
		}
	}
	msg := fmt.Sprintf("%q is not a policy: use round_robin or random", c.Policy)
	if hint := conf.Suggest(p, policies); hint != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", hint)
	}
	return conf.Invalid("policy", "%s", msg)
}

// LoadBalancing sends each event to exactly one of the source's channels,
// in turn or at random. Every channel is required; none is optional.
type LoadBalancing struct {
	random bool
	next   atomic.Uint64
	single [][]sluice.Channel // single[i] is {channel i}, shared
	all    []sluice.Channel
}

var _ sluice.ChannelSelector = (*LoadBalancing)(nil)

// NewLoadBalancing builds a load_balancing selector over env.Channels.
func NewLoadBalancing(env sluice.Env, cfg *LoadBalancingConfig) (*LoadBalancing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set, err := newChannelSet(env)
	if err != nil {
		return nil, err
	}
	lb := &LoadBalancing{random: strings.EqualFold(cfg.Policy, "random"), all: set.all}
	lb.single = make([][]sluice.Channel, len(set.all))
	for i := range set.all {
		lb.single[i] = set.all[i : i+1 : i+1]
	}
	return lb, nil
}

// Required returns the one channel for this event.
func (l *LoadBalancing) Required(*sluice.Event) []sluice.Channel {
	n := uint64(len(l.single))
	if l.random {
		return l.single[rand.Uint64N(n)]
	}
	return l.single[(l.next.Add(1)-1)%n]
}

// Optional is always empty.
func (l *LoadBalancing) Optional(*sluice.Event) []sluice.Channel { return nil }

// All returns the source's channels in source order.
func (l *LoadBalancing) All() []sluice.Channel { return l.all }

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSelector,
		Name:      "load_balancing",
		Aliases:   []string{"org.apache.flume.channel.LoadBalancingChannelSelector"},
		Stability: sluice.Stable,
		Doc: "Spreads events over the source's channels: each event goes to exactly one channel, chosen " +
			"in turn (round_robin) or at random. The chosen channel is required: if it refuses, the batch " +
			"fails back to the source; the event is not tried on another channel.",
		Config: func() any { return &LoadBalancingConfig{Policy: "round_robin"} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c, ok := cfg.(*LoadBalancingConfig)
			if !ok {
				return nil, fmt.Errorf("load_balancing selector: unexpected config type %T", cfg)
			}
			return NewLoadBalancing(env, c)
		},
		Notes: "As in Flume 1.10+: the choice is per event, round_robin starts at the first channel and " +
			"cycles in the source's channel order (shared by all the source's threads), and there are no " +
			"optional channels. An unknown policy is a positioned configuration error with a did-you-mean.",
		Example: "a1.sources.r1.channels = c1 c2\na1.sources.r1.selector.type = load_balancing\na1.sources.r1.selector.policy = round_robin\n",
	})
}
