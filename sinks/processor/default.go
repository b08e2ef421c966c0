package processor

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluiceio/sluice"
)

// Default runs exactly one sink and passes its results through unchanged.
type Default struct {
	members
	sink sluice.Drainer
}

var _ sluice.SinkProcessor = (*Default)(nil)

func newDefault(env sluice.Env, _ *struct{}) (*Default, error) {
	if err := checkSinks(env.Sinks); err != nil {
		return nil, err
	}
	if n := len(env.Sinks); n != 1 {
		return nil, fmt.Errorf("the default sink processor runs exactly one sink, but the group has %d (%s); use processor.type = failover or load_balance for several",
			n, strings.Join(sinkNames(env.Sinks), " "))
	}
	return &Default{members: members{sinks: env.Sinks}, sink: env.Sinks[0].Drain}, nil
}

// Process calls the one sink.
func (d *Default) Process(ctx context.Context) (sluice.Status, error) {
	return d.sink.Process(ctx)
}
