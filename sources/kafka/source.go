package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/runloop"
)

const (
	commitTimeout   = 10 * time.Second // one synchronous offset commit
	leaveTimeout    = 10 * time.Second // leaving the group at stop
	topicCheckEvery = 10 * time.Second // how often missing topics are looked for
)

// Source is a running Kafka source.
type Source struct {
	cfg      Config
	name     string
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters
	m        *mapper
	opts     []kgo.Opt
	topics   []string // kafka.topics; nil with a regex

	// Flume's Kafka source counters, in ms and polls.
	getTimer, commitTimer, emptyCount *atomic.Int64

	loop    runloop.Loop
	cl      *kgo.Client
	brokers *brokerHealth
	badLog  ratelog.Limiter // values that are not Flume events
	pollLog ratelog.Limiter // fetch errors
	commLog ratelog.Limiter // failed commits
	groupMu sync.Mutex      // the group outage is told from two goroutines
	group   ratelog.Outage  // the consumer group session failing

	// pending are delivered records' offsets not yet committed (a commit
	// failed): committed with the next batch, or when their partition is
	// revoked; dropped when it is lost (they are read again: duplicates,
	// never loss).
	mu      sync.Mutex
	pending map[string]map[int32]kgo.EpochOffset
}

// New builds the source; it connects to nothing until Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	// Its warnings were reported with the configuration (Config.Warnings).
	opts, _, err := kafkaclient.ConsumerOpts(&cfg.Common, cfg.consumerProps())
	if err != nil {
		return nil, err // Validate ran the same mapping: not reached
	}
	s := &Source{
		cfg: *cfg, name: env.Name, log: env.Logger, proc: env.Processor, counters: env.SourceCounters,
		m: newMapper(cfg),
	}
	s.getTimer = s.counters.Get("KafkaEventGetTimer")
	s.commitTimer = s.counters.Get("KafkaCommitTimer")
	s.emptyCount = s.counters.Get("KafkaEmptyCount")
	s.group.Log = env.Logger
	s.brokers = &brokerHealth{log: env.Logger, down: map[string]*ratelog.Outage{}}
	// Auto-commit off (GroupOpts): offsets move only after delivery.
	opts = append(opts, kafkaclient.GroupOpts(cfg.groupID())...)
	opts = append(opts,
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		kgo.WithHooks(s.brokers),
	)
	if cfg.TopicsRegex != "" {
		re, _ := cfg.topicRegex()
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(re))
	} else {
		s.topics = cfg.topicList()
		opts = append(opts, kgo.ConsumeTopics(s.topics...))
	}
	s.opts = opts
	return s, nil
}

// BatchSize is the most events in one hand-off.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start creates the client (which joins the group in the background) and
// the polling goroutine. It does not wait for the brokers: a broker that is
// down now is logged once and waited for, as one that goes away later.
func (s *Source) Start(context.Context) error {
	err := s.loop.Start(func() error {
		cl, err := kgo.NewClient(s.opts...)
		if err != nil {
			return fmt.Errorf("kafka source %s: %w", s.name, err)
		}
		s.cl = cl
		s.brokers.mu.Lock()
		s.brokers.cl = cl
		s.brokers.mu.Unlock()
		s.pending = map[string]map[int32]kgo.EpochOffset{}
		return nil
	}, s.run)
	if errors.Is(err, runloop.ErrStarted) {
		return fmt.Errorf("kafka source %s already started", s.name)
	}
	return err
}

// Stop stops polling, abandons a batch the channels have not taken (its
// offsets are not committed, so it is read again later), commits what was
// delivered, and leaves the group.
func (s *Source) Stop(ctx context.Context) error {
	_, err := s.loop.Stop(ctx)
	return err
}

func (s *Source) run() {
	cl := s.cl
	defer s.leave(cl)

	pollCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.loop.StopC():
		case <-pollCtx.Done():
		}
		cancel()
	}()
	if s.topics != nil {
		go s.watchTopics(pollCtx)
	}
	s.log.Info("kafka source started", "group", s.cfg.groupID(),
		"topics", s.subscription(), "bootstrap", s.cfg.BootstrapServers)

	var batch []*sluice.Event
	var recs []*kgo.Record
	for !s.loop.Stopping() {
		batch, recs = batch[:0], recs[:0]
		start := time.Now()
		deadline := start.Add(s.cfg.BatchDuration)
		for len(batch) < s.cfg.BatchSize {
			ctx, cancelPoll := context.WithDeadline(pollCtx, deadline)
			fs := cl.PollRecords(ctx, s.cfg.BatchSize-len(batch))
			cancelPoll()
			if fs.IsClientClosed() {
				return
			}
			s.pollErrors(fs)
			fs.EachRecord(func(r *kgo.Record) {
				ev, bad := s.m.event(r)
				if bad != nil {
					s.badValue(r, bad)
				}
				batch = append(batch, ev)
				recs = append(recs, r)
			})
			if pollCtx.Err() != nil || !time.Now().Before(deadline) {
				break
			}
		}
		if s.loop.Stopping() {
			if len(batch) > 0 {
				s.log.Info("kafka source stopping: a batch read but not handed over is left uncommitted; it is read again on the next start",
					"events", len(batch))
			}
			return
		}
		if len(batch) == 0 {
			s.emptyCount.Add(1)
			cl.AllowRebalance()
			continue
		}
		s.getTimer.Add(time.Since(start).Milliseconds())
		err := s.proc.ProcessRetry(s.loop.Context(), batch, sluice.CallEvents,
			sluice.Retry{First: s.cfg.BackoffIncrement, Max: s.cfg.MaxBackoff, Stop: s.loop.StopC()})
		if err != nil {
			// Stopping while the channels refused the batch: it was not
			// delivered, so its offsets stay uncommitted.
			s.log.Info("kafka source stopping: a batch the channels had not taken is left uncommitted; it is read again on the next start",
				"events", len(batch))
			return
		}
		s.commit(recs)
		cl.AllowRebalance()
	}
}

// leave leaves the group (revoked commits what is pending) and closes the
// client, within leaveTimeout even when the brokers are away: the group
// then moves the partitions after the session timeout.
func (s *Source) leave(cl *kgo.Client) {
	cl.AllowRebalance()
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if err := cl.LeaveGroupContext(ctx); err != nil {
		s.log.Warn("kafka source: leaving the consumer group did not complete; the group gives the partitions to others after its session timeout",
			"group", s.cfg.groupID(), "err", err)
	}
	cl.Close()
}

// subscription names what the source reads, for log lines.
func (s *Source) subscription() string {
	if s.cfg.TopicsRegex != "" {
		return "regex " + strconv.Quote(s.cfg.TopicsRegex)
	}
	return fmt.Sprint(s.topics)
}

// commit commits the next offset of every partition of a delivered batch,
// synchronously, with the offsets an earlier failed commit left.
func (s *Source) commit(recs []*kgo.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		p := s.pending[r.Topic]
		if p == nil {
			p = map[int32]kgo.EpochOffset{}
			s.pending[r.Topic] = p
		}
		eo := kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		if at, ok := p[r.Partition]; !ok || at.Less(eo) {
			p[r.Partition] = eo
		}
	}
	s.commitPending(s.loop.Context(), nil)
}

// commitPending commits the pending offsets (of only the partitions in
// only, when it is not nil) and forgets those that were committed. The
// caller holds mu.
func (s *Source) commitPending(ctx context.Context, only map[string][]int32) {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for t, ps := range s.pending {
		for p, eo := range ps {
			if only != nil && !contains(only[t], p) {
				continue
			}
			if offsets[t] == nil {
				offsets[t] = map[int32]kgo.EpochOffset{}
			}
			offsets[t][p] = eo
		}
	}
	if len(offsets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	start := time.Now()
	var failed error
	s.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			failed = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
					failed = fmt.Errorf("topic %q partition %d: %w", t.Topic, p.Partition, perr)
					continue
				}
				if ps := s.pending[t.Topic]; ps != nil && ps[p.Partition] == offsets[t.Topic][p.Partition] {
					delete(ps, p.Partition)
					if len(ps) == 0 {
						delete(s.pending, t.Topic)
					}
				}
			}
		}
	})
	s.commitTimer.Add(time.Since(start).Milliseconds())
	if failed != nil {
		if ok, held := s.commLog.Allow(); ok {
			s.log.Error("kafka source: committing offsets failed; the events were delivered, the commit is tried again with the next batch (if the partition moves first, they are read again)",
				"err", failed, "similar_errors_not_logged", held)
		}
	}
}

func contains(ps []int32, p int32) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// assigned, revoked and lost run on the client's goroutine, only between
// batches (BlockRebalanceOnPoll): never while a batch is read or delivered.
func (s *Source) assigned(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	s.groupMu.Lock()
	s.group.OK("kafka source: in the consumer group again")
	s.groupMu.Unlock()
	s.log.Info("kafka source: partitions assigned", "partitions", fmt.Sprint(parts))
}

func (s *Source) revoked(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	if len(parts) > 0 {
		s.log.Info("kafka source: partitions revoked", "partitions", fmt.Sprint(parts))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitPending(ctx, parts)
	for t, ps := range parts {
		for _, p := range ps {
			delete(s.pending[t], p)
		}
	}
}

func (s *Source) lost(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	if len(parts) == 0 {
		return
	}
	s.log.Warn("kafka source: partitions lost (the group session ended); their uncommitted events will be read again by whoever gets them",
		"partitions", fmt.Sprint(parts))
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			delete(s.pending[t], p)
		}
	}
}

// pollErrors logs what a poll reported besides records, rate-limited: the
// client retries by itself, so these are for the user to see, not to act on.
func (s *Source) pollErrors(fs kgo.Fetches) {
	fs.EachError(func(topic string, partition int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) && s.brokers.failing() {
			return // the broker outage line says it already
		}
		var gs *kgo.ErrGroupSession
		if errors.As(err, &gs) {
			s.groupFailed(gs.Err)
			return
		}
		ok, held := s.pollLog.Allow()
		if !ok {
			return
		}
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			s.log.Error("kafka source: a topic of kafka.topics does not exist; it is read once it is created",
				"topic", topic, "err", err, "similar_errors_not_logged", held)
			return
		}
		s.log.Warn("kafka source: fetch failed; the client retries", "topic", topic,
			"partition", partition, "err", err, "similar_errors_not_logged", held)
	})
}

// groupFailed logs a consumer group session that failed (the client
// rejoins by itself) as an outage: once when it begins, a reminder a
// minute, once when partitions are assigned again.
func (s *Source) groupFailed(err error) {
	what := "kafka source: cannot take part in the consumer group; the client keeps rejoining"
	if errors.Is(err, kerr.InconsistentGroupProtocol) {
		what = "kafka source: the consumer group's other members share no partition assignor with this one " +
			"(kafka.consumer.partition.assignment.strategy; Flume 1.11's consumers know only RangeAssignor)"
	}
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	s.group.Fail(what, err, "group", s.cfg.groupID())
}

// badValue reports a record that is not a Flume event while
// useFlumeEventFormat is on: counted in EventReadFail, logged at most once
// per 10 s; its raw bytes went on as the body.
func (s *Source) badValue(r *kgo.Record, err error) {
	s.counters.EventReadFail.Add(1)
	if ok, held := s.badLog.Allow(); ok {
		s.log.Warn("kafka source: record value is not a Flume event (useFlumeEventFormat = true); its bytes are passed on as the event body, marked with the header "+decodeErrorHeader,
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err,
			"similar_records_not_logged", held)
	}
}

// watchTopics looks for the topics of kafka.topics that do not exist and
// names them in the log (once each, and once when they appear), until all
// exist or the source stops.
func (s *Source) watchTopics(ctx context.Context) {
	adm := kadm.NewClient(s.cl)
	missing := map[string]bool{}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		td, err := adm.ListTopics(lctx, s.topics...)
		cancel()
		all := err == nil
		if err == nil {
			for _, name := range s.topics {
				d, ok := td[name]
				exists := ok && d.Err == nil
				switch {
				case !exists && !missing[name]:
					missing[name] = true
					s.log.Error("kafka source: a topic of kafka.topics does not exist; it is read once it is created",
						"topic", name)
				case exists && missing[name]:
					delete(missing, name)
					s.log.Info("kafka source: the topic exists now", "topic", name)
				}
				all = all && exists
			}
		}
		if all {
			return
		}
		t.Reset(topicCheckEvery)
	}
}

// brokerHealth is a client hook: a broker that cannot be reached is
// logged once when it begins (with the cause explained: refused, TLS,
// SASL), reminded once a minute, and once when it answers again. The
// client retries by itself.
type brokerHealth struct {
	log *slog.Logger
	cl  *kgo.Client

	mu   sync.Mutex
	down map[string]*ratelog.Outage
}

// failing reports whether some broker cannot be reached now.
func (h *brokerHealth) failing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.down) > 0
}

func (h *brokerHealth) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.report(meta, err)
	}
}

// OnBrokerRead sees the broker's first answer on a connection: only then is
// it known to be back (a broker that requires client certificates refuses
// one it does not trust with a TLS alert at the first read, after the
// connect looked fine). Other read errors (a broker closing an idle
// connection) are the client's business.
func (h *brokerHealth) OnBrokerRead(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err == nil || kafkaclient.TLSRefused(err) {
		h.report(meta, err)
	}
}

// report records a broker's state: err nil means it answered.
func (h *brokerHealth) report(meta kgo.BrokerMetadata, err error) {
	addr := net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port)))
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.down[addr]
	if err == nil {
		if o != nil {
			o.OK("kafka source: broker reachable again")
			delete(h.down, addr)
		}
		return
	}
	if o == nil {
		o = &ratelog.Outage{Log: h.log.With("broker", addr)}
		h.down[addr] = o
	}
	if h.cl != nil {
		err = kafkaclient.Explain(h.cl, err)
	}
	o.Fail("kafka source: cannot connect to a Kafka broker; the client keeps retrying", err)
}
