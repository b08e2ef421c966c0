package selector

import (
	"fmt"

	"github.com/sluiceio/sluice"
)

// ReplicatingConfig holds the replicating selector's one property.
type ReplicatingConfig struct {
	Optional []string `flume:"optional" doc:"space-separated channels whose failures are logged and ignored"`
}

// Replicating writes every event to every channel of its source; channels
// listed in optional may fail without failing the batch.
type Replicating struct {
	required, optional, all []sluice.Channel
}

var _ sluice.FixedSelector = (*Replicating)(nil)

// NewReplicating builds a replicating selector over env.Channels.
func NewReplicating(env sluice.Env, cfg *ReplicatingConfig) (*Replicating, error) {
	set, err := newChannelSet(env)
	if err != nil {
		return nil, err
	}
	opt, err := set.resolve("optional", cfg.Optional)
	if err != nil {
		return nil, err
	}
	return &Replicating{required: without(set.all, opt), optional: opt, all: set.all}, nil
}

// Required returns the source's channels not marked optional, in source order.
func (r *Replicating) Required(*sluice.Event) []sluice.Channel { return r.required }

// Optional returns the optional channels, in the order written.
func (r *Replicating) Optional(*sluice.Event) []sluice.Channel { return r.optional }

// All returns the source's channels in source order.
func (r *Replicating) All() []sluice.Channel { return r.all }

// Fixed reports that every event goes to the same channels, so the channel
// processor need not ask per event.
func (r *Replicating) Fixed() bool { return true }

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSelector,
		Name:      "replicating",
		Aliases:   []string{"org.apache.flume.channel.ReplicatingChannelSelector"},
		Stability: sluice.Stable,
		Doc: "The default selector: every event goes to every channel of the source. A failure on a " +
			"required channel fails the batch back to the source; channels listed in optional may fail " +
			"without that.",
		Config: func() any { return &ReplicatingConfig{} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c, ok := cfg.(*ReplicatingConfig)
			if !ok {
				return nil, fmt.Errorf("replicating selector: unexpected config type %T", cfg)
			}
			return NewReplicating(env, c)
		},
		Notes: "Same behaviour as Flume's. Differences: an `optional` entry that is not one of the " +
			"source's channels is a configuration error (Flume accepts it and logs an error on every batch), and a channel " +
			"named twice counts once. As in Flume, the required channels are written first, in the " +
			"source's order, and the batch stays committed in channels that took it before one failed, " +
			"so a retry may duplicate events there (at-least-once).",
		Example: "a1.sources.r1.channels = c1 c2\na1.sources.r1.selector.type = replicating\na1.sources.r1.selector.optional = c2\n",
	})
}
