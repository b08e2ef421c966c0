package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
	"github.com/sluiceio/sluice/internal/ratelog"
)

// keyHeader is the header that becomes a record's key, and the header a
// taken record's key is put in, as in Flume.
const keyHeader = "key"

// decodeErrorHeader marks an event whose record could not be read as a
// Flume event: its body is the record's value as it was.
const decodeErrorHeader = "sluice.kafka.decodeError"

// bufferLimit bounds the records fetched and not yet handed out (rolled
// back ones included): the fetcher waits while this many are held.
const bufferLimit = 2000

// commitTimeout bounds one offset commit of a take.
const commitTimeout = 30 * time.Second

// Channel is a Kafka channel.
//
// The put side is one producer client: a transaction's events are staged
// as records and produced at commit, which returns once every record was
// acknowledged.
//
// The take side is one consumer-group client per channel, shared by every
// sink that takes from it, fed by one fetching goroutine into a bounded
// buffer. Flume keeps a consumer per sink thread instead, because a
// consumer commits all of its partitions at once; Go has no thread
// identity and a transaction does not know its sink, so here the channel
// tracks, per partition, which handed-out records were committed by their
// take, and commits only the offset past the longest committed prefix.
// Sinks taking concurrently may then commit in any order without moving a
// partition's offset past an event still in an open take. Several agents
// (or channels) with one group share the topic's partitions as Flume's
// consumers do.
type Channel struct {
	name      string
	log       *slog.Logger
	cnt       *sluice.ChannelCounters
	cfg       Config
	partition int32 // defaultPartitionId, -1 when unset
	manual    bool  // some records may name their partition
	prodOpts  []kgo.Opt
	consOpts  []kgo.Opt
	maxPoll   int

	getTimer, sendTimer, commitTimer, rollbacks *atomic.Int64

	mu    sync.Mutex
	tr    *tracker
	ready chan struct{} // closed when records become available to take
	room  chan struct{} // closed when takes make room in the buffer

	// commitMu orders offset commits, so the offsets the group holds only
	// move forward.
	commitMu sync.Mutex

	life      sync.Mutex // guards the fields below, for Start and Stop
	running   atomic.Bool
	prod      *kgo.Client
	cons      *kgo.Client
	cancel    context.CancelFunc
	ctx       context.Context // cancelled by Stop: ends puts and offset commits in flight
	fetchDone chan struct{}

	commitFail ratelog.Limiter
	fetchFail  ratelog.Limiter
	decodeFail ratelog.Limiter
}

var (
	_ sluice.Channel  = (*Channel)(nil)
	_ sluice.Notifier = (*Channel)(nil)
	_ sluice.Sized    = (*Channel)(nil)
)

// New builds a Kafka channel from a validated config: it maps the Kafka
// client properties (reporting what is wrong with them) but connects to
// nothing; Start does.
func New(env sluice.Env, cfg *Config) (*Channel, error) {
	part, err := cfg.defaultPartition()
	if err != nil {
		return nil, fmt.Errorf("kafka channel %s: defaultPartitionId %q is not a partition number", env.Name, cfg.DefaultPartitionID)
	}
	prod, warnP, err := kafkaclient.ProducerOpts(&cfg.Common, cfg.producerProps())
	if err != nil {
		return nil, fmt.Errorf("kafka channel %s: %w", env.Name, err)
	}
	cons, warnC, err := kafkaclient.ConsumerOpts(&cfg.Common, cfg.consumerProps())
	if err != nil {
		return nil, fmt.Errorf("kafka channel %s: %w", env.Name, err)
	}
	for _, w := range append(warnP, warnC...) {
		env.Logger.Warn(w)
	}
	if cfg.ZookeeperConnect != "" || !cfg.MigrateZKOffsets {
		env.Logger.Info("zookeeperConnect and migrateZookeeperOffsets are accepted and ignored: the channel's offsets live in Kafka")
	}
	cnt := env.ChannelCounters
	c := &Channel{
		name:        env.Name,
		log:         env.Logger,
		cnt:         cnt,
		cfg:         *cfg,
		partition:   part,
		manual:      part >= 0 || cfg.PartitionIDHeader != "",
		prodOpts:    prod,
		consOpts:    cons,
		maxPoll:     kafkaclient.MaxPollRecords(cfg.Consumer),
		tr:          newTracker(),
		getTimer:    cnt.Get("KafkaEventGetTimer"),
		sendTimer:   cnt.Get("KafkaEventSendTimer"),
		commitTimer: cnt.Get("KafkaCommitTimer"),
		rollbacks:   cnt.Get("RollbackCount"),
	}
	// Kafka holds the events: like Flume, the channel reports size and
	// capacity 0 (and so a fill percentage of Double.MAX_VALUE), and the
	// agent has nothing of it to drain at shutdown.
	cnt.SetSizer(c)
	return c, nil
}

// Size is 0: the events are in Kafka, not in the process.
func (c *Channel) Size() int64 { return 0 }

// Capacity is 0, as Flume's Kafka channel reports it.
func (c *Channel) Capacity() int64 { return 0 }

// Start creates the Kafka clients and the fetching goroutine. It does not
// wait for the brokers: a broker that cannot be reached is logged (with
// why: address, TLS, SASL) and the clients keep trying, so puts fail and
// sources back off until it is there.
func (c *Channel) Start(context.Context) error {
	c.life.Lock()
	defer c.life.Unlock()
	if c.running.Load() {
		return nil
	}
	popts := append(append([]kgo.Opt(nil), c.prodOpts...), kgo.DefaultProduceTopic(c.cfg.Topic))
	if c.manual {
		popts = append(popts, kgo.RecordPartitioner(manualPartitioner{kgo.StickyKeyPartitioner(nil)}))
	}
	prod, err := kgo.NewClient(popts...)
	if err != nil {
		return fmt.Errorf("kafka channel %s: producer: %w", c.name, err)
	}
	copts := append(append(append([]kgo.Opt(nil), c.consOpts...), kafkaclient.GroupOpts(c.cfg.GroupID)...),
		kgo.ConsumeTopics(c.cfg.Topic),
		// Rebalances wait while a fetched batch is being buffered, so a
		// partition's records never arrive after it was revoked.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
	)
	cons, err := kgo.NewClient(copts...)
	if err != nil {
		prod.Close()
		return fmt.Errorf("kafka channel %s: consumer: %w", c.name, err)
	}
	// A restart (Stop, then Start) begins from the group's committed
	// offsets: nothing of the previous run's buffer or assignment is kept,
	// and takes still open from it neither commit nor come back.
	c.mu.Lock()
	for _, p := range c.tr.parts {
		p.alive = false
	}
	c.tr = newTracker()
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	c.prod, c.cons, c.ctx, c.cancel = prod, cons, ctx, cancel
	c.fetchDone = make(chan struct{})
	c.running.Store(true)
	go c.fetch(ctx, cons, c.fetchDone)
	go c.watchBrokers(ctx, prod)
	c.cnt.Started()
	return nil
}

// watchBrokers pings until the brokers answer: an error once while they
// do not (saying why), a line when they do.
func (c *Channel) watchBrokers(ctx context.Context, cl *kgo.Client) {
	failed := false
	for {
		err := kafkaclient.Ping(ctx, cl)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			c.log.Info("kafka channel connected", "topic", c.cfg.Topic, "group", c.cfg.GroupID)
			return
		}
		if !failed {
			failed = true
			c.log.Error("kafka channel cannot reach its brokers; puts fail and takes find nothing until it can (retrying)",
				"topic", c.cfg.Topic, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// Stop refuses further puts, stops fetching, commits the offsets of what
// takes committed, leaves the group and closes the clients. Records taken
// and not committed are handed out again by Kafka to the next consumer.
func (c *Channel) Stop(ctx context.Context) error {
	c.life.Lock()
	defer c.life.Unlock()
	if !c.running.Swap(false) {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Closing the consumer leaves the group, which revokes every
		// partition: onRevoked commits what takes committed.
		c.cons.AllowRebalance()
		c.cons.Close()
		c.cancel()
		<-c.fetchDone
		c.prod.Close()
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		c.cancel()
		err = fmt.Errorf("kafka channel %s: stop: %w", c.name, ctx.Err())
	}
	c.cnt.Stopped()
	return err
}

// Begin opens a transaction.
func (c *Channel) Begin() sluice.Transaction { return &txn{c: c} }

// Ready returns a channel closed when records can be taken.
func (c *Channel) Ready() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tr.buffered() > 0 {
		return closedChan
	}
	if c.ready == nil {
		c.ready = make(chan struct{})
	}
	return c.ready
}

// closedChan is Ready's answer while records wait to be taken.
var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// wakeReady is called with mu held when records were added.
func (c *Channel) wakeReady() {
	if c.ready != nil {
		close(c.ready)
		c.ready = nil
	}
}

// fetch moves records from Kafka into the buffer while it has room.
func (c *Channel) fetch(ctx context.Context, cl *kgo.Client, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		c.mu.Lock()
		room := bufferLimit - c.tr.buffered()
		if room <= 0 {
			wait := make(chan struct{})
			c.room = wait
			c.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
			}
			continue
		}
		c.mu.Unlock()

		pctx, cancel := context.WithTimeout(ctx, c.cfg.PollTimeout)
		fs := cl.PollRecords(pctx, min(room, c.maxPoll))
		cancel()
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if ok, held := c.fetchFail.Allow(); ok {
				c.log.Warn("kafka channel: fetch failed; retrying", "topic", topic, "partition", p,
					"err", kafkaclient.Explain(cl, err), "similar_warnings_suppressed", held)
			}
		})
		var recs []*rec
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, c.toRec(r)) })
		if len(recs) > 0 {
			c.mu.Lock()
			for _, r := range recs {
				r.part = c.tr.part(r.part.id)
			}
			c.tr.add(recs)
			c.wakeReady()
			c.mu.Unlock()
		}
		// Only now may a rebalance revoke partitions: the records are
		// in the buffer, where onRevoked finds them.
		cl.AllowRebalance()
	}
}

// toRec turns a record into an event. Its part is a placeholder holding
// the partition id; fetch replaces it under the lock.
func (c *Channel) toRec(r *kgo.Record) *rec {
	var ev *sluice.Event
	if c.cfg.ParseAsFlumeEvent {
		e, err := kafkaclient.DecodeFlumeEvent(r.Value)
		if err != nil {
			// Not a Flume event (written with parseAsFlumeEvent = false,
			// or by something else): hand it out as it is rather than
			// drop it or stop the channel on it.
			if ok, held := c.decodeFail.Allow(); ok {
				c.log.Error("kafka channel: a record is not a Flume event (is parseAsFlumeEvent right?); its value is handed out as the body, marked with the header "+decodeErrorHeader,
					"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err, "similar_errors_suppressed", held)
			}
			e = sluice.NewEvent(r.Value)
			e.Headers[decodeErrorHeader] = err.Error()
		}
		ev = e
	} else {
		ev = sluice.NewEvent(r.Value)
	}
	if r.Key != nil {
		ev.SetHeader(keyHeader, string(r.Key))
	}
	return &rec{ev: ev, part: &partition{id: r.Partition}, off: r.Offset, epoch: r.LeaderEpoch}
}

func (c *Channel) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if ps := m[c.cfg.Topic]; len(ps) > 0 {
		c.log.Info("kafka channel: partitions assigned", "topic", c.cfg.Topic, "partitions", ps)
	}
}

// onRevoked commits, for each partition taken away, the offset past the
// records whose takes committed, and forgets the rest: the partition's
// next owner reads them again from there.
func (c *Channel) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := m[c.cfg.Topic]
	if len(ps) == 0 {
		return
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	pts := c.tr.revoke(ps)
	c.mu.Unlock()
	c.log.Info("kafka channel: partitions revoked", "topic", c.cfg.Topic, "partitions", ps)
	if len(pts) > 0 {
		ctx, cancel := context.WithTimeout(ctx, commitTimeout)
		defer cancel()
		if err := c.commitPoints(ctx, cl, pts); err != nil {
			c.log.Warn("kafka channel: committing offsets of revoked partitions failed; their next owner hands out again what was taken since the last commit",
				"topic", c.cfg.Topic, "err", err)
		}
	}
}

// onLost forgets partitions without committing: the group no longer
// accepts our commits.
func (c *Channel) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ps := m[c.cfg.Topic]
	if len(ps) == 0 {
		return
	}
	c.mu.Lock()
	c.tr.revoke(ps)
	c.mu.Unlock()
	c.log.Warn("kafka channel: partitions lost; what was taken from them and not committed is handed out again by their next owner",
		"topic", c.cfg.Topic, "partitions", ps)
}

// commitPoints commits offsets to the group and records them as held.
func (c *Channel) commitPoints(ctx context.Context, cl *kgo.Client, pts []point) error {
	offs := make(map[int32]kgo.EpochOffset, len(pts))
	for _, pt := range pts {
		offs[pt.p.id] = kgo.EpochOffset{Epoch: pt.epoch, Offset: pt.off}
	}
	start := time.Now()
	var cerr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			cerr = commitErr(resp, err)
		})
	c.commitTimer.Add(time.Since(start).Milliseconds())
	if cerr != nil {
		return cerr
	}
	c.mu.Lock()
	c.tr.committed(pts)
	c.mu.Unlock()
	return nil
}

// commitTakes commits what the take's records allow (and any earlier
// commit point whose commit failed).
func (c *Channel) commitTakes(rs []*rec) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	c.tr.done(rs)
	pts := c.tr.pending()
	c.mu.Unlock()
	if len(pts) == 0 || !c.running.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, commitTimeout)
	defer cancel()
	if err := c.commitPoints(ctx, c.cons, pts); err != nil {
		// The take stays committed: its events were delivered. The
		// offsets are committed with the next take commit (or when the
		// partition is revoked); until then a crash hands them out again.
		if ok, held := c.commitFail.Allow(); ok {
			c.log.Warn("kafka channel: offset commit failed; it is retried with the next take commit (a crash before then delivers those events again)",
				"topic", c.cfg.Topic, "group", c.cfg.GroupID, "err", err, "similar_warnings_suppressed", held)
		}
	}
}

// commitErr is the first error of an offset commit: the request's, or
// one partition's.
func commitErr(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil || resp == nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("partition %d: %w", p.Partition, err)
			}
		}
	}
	return nil
}

// closedErr is a put's error after Stop.
func (c *Channel) closedErr() error {
	return fmt.Errorf("channel %s: stopped: %w", c.name, sluice.ErrClosed)
}

// produceErr explains a produce failure, naming the topic and the brokers.
// (Why the brokers cannot be reached, TLS or SASL, is logged once by
// watchBrokers.)
func (c *Channel) produceErr(n int, err error) error {
	if kafkaclient.AuthFailed(err) {
		err = kafkaclient.Explain(c.prod, err)
	}
	return fmt.Errorf("channel %s: %d events not written to kafka topic %q at kafka.bootstrap.servers %q: %w",
		c.name, n, c.cfg.Topic, strings.Join(c.cfg.Seeds(), ","), err)
}
