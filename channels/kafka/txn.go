package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

type txnState uint8

const (
	open txnState = iota
	committed
	rolledBack
)

var errTxnDone = errors.New("transaction already committed or rolled back")

// txn is one transaction. Puts are encoded into records at Put and
// produced at Commit; takes hold the records handed out until Commit marks
// them done or Rollback returns them to the head of the channel.
type txn struct {
	c     *Channel
	state txnState
	puts  []*kgo.Record
	takes []*rec
}

func (t *txn) Put(events []*sluice.Event) error {
	c := t.c
	if t.state != open {
		return fmt.Errorf("channel %s: put: %w", c.name, errTxnDone)
	}
	if !c.running.Load() {
		return c.closedErr()
	}
	for i, e := range events {
		r := &kgo.Record{Topic: c.cfg.Topic}
		if k, ok := e.Headers[keyHeader]; ok {
			r.Key = []byte(k)
		}
		if c.manual {
			p := c.partition
			if h := c.cfg.PartitionIDHeader; h != "" {
				if v, ok := e.Headers[h]; ok {
					n, err := strconv.ParseInt(v, 10, 32)
					if err != nil || n < 0 {
						c.cnt.EventPutAttempt.Add(int64(i + 1))
						return fmt.Errorf("channel %s: event %d of the put: header %s (partitionIdHeader) %q is not a partition number",
							c.name, i, h, v)
					}
					p = int32(n)
				}
			}
			if p >= 0 {
				r.Partition = p
				r.Context = manualCtx
			}
		}
		if c.cfg.ParseAsFlumeEvent {
			r.Value = kafkaclient.EncodeFlumeEvent(nil, e)
		} else {
			r.Value = e.Body
		}
		t.puts = append(t.puts, r)
	}
	c.cnt.EventPutAttempt.Add(int64(len(events)))
	return nil
}

func (t *txn) Take(max int) ([]*sluice.Event, error) {
	c := t.c
	if t.state != open {
		return nil, fmt.Errorf("channel %s: take: %w", c.name, errTxnDone)
	}
	if max <= 0 || !c.running.Load() {
		return nil, nil
	}
	start := time.Now()
	c.mu.Lock()
	rs, fresh := c.tr.take(max)
	if c.room != nil && c.tr.buffered() < bufferLimit {
		close(c.room)
		c.room = nil
	}
	c.mu.Unlock()
	if len(rs) == 0 {
		return nil, nil
	}
	c.cnt.EventTakeAttempt.Add(int64(fresh))
	c.getTimer.Add(time.Since(start).Milliseconds())
	t.takes = append(t.takes, rs...)
	out := make([]*sluice.Event, len(rs))
	for i, r := range rs {
		out[i] = r.ev
	}
	return out, nil
}

func (t *txn) Commit() error {
	c := t.c
	switch t.state {
	case committed:
		return nil
	case rolledBack:
		return fmt.Errorf("channel %s: commit: %w", c.name, errTxnDone)
	}
	if len(t.puts) > 0 {
		if err := t.produce(); err != nil {
			t.Rollback()
			return err
		}
		c.cnt.EventPutSuccess.Add(int64(len(t.puts)))
		t.puts = nil
	}
	if len(t.takes) > 0 {
		c.commitTakes(t.takes)
		c.cnt.EventTakeSuccess.Add(int64(len(t.takes)))
		t.takes = nil
	}
	t.state = committed
	return nil
}

// produce writes the staged records and waits for every acknowledgement.
func (t *txn) produce() error {
	c := t.c
	if !c.running.Load() {
		return c.closedErr()
	}
	start := time.Now()
	// The delivery timeout (kafka.producer.delivery.timeout.ms) bounds the
	// wait; Stop cancels it.
	res := c.prod.ProduceSync(c.ctx, t.puts...)
	c.sendTimer.Add(time.Since(start).Milliseconds())
	if err := res.FirstErr(); err != nil {
		failed := 0
		for _, r := range res {
			if r.Err != nil {
				failed++
			}
		}
		if errors.Is(err, context.Canceled) && !c.running.Load() {
			return c.closedErr()
		}
		return c.produceErr(failed, err)
	}
	return nil
}

func (t *txn) Rollback() error {
	c := t.c
	if t.state != open {
		if t.state == rolledBack {
			return nil
		}
		return fmt.Errorf("channel %s: rollback: %w", c.name, errTxnDone)
	}
	t.state = rolledBack
	t.puts = nil
	if n := len(t.takes); n > 0 {
		c.rollbacks.Add(int64(n))
		c.mu.Lock()
		if c.tr.rollback(t.takes) > 0 {
			c.wakeReady()
		}
		c.mu.Unlock()
		t.takes = nil
	}
	return nil
}
