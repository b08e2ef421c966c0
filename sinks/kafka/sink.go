package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
	"github.com/sluiceio/sluice/internal/ratelog"
)

// startPing bounds the connectivity check Start runs in the background,
// and diagnose the one a failed batch runs to say why it failed.
const (
	startPing    = 10 * time.Second
	diagnosePing = 5 * time.Second
)

// Sink is a running Kafka sink.
type Sink struct {
	set   settings
	maker *recordMaker
	opts  []kgo.Opt
	name  string
	log   *slog.Logger
	c     *sluice.SinkCounters

	sendTimer, rollbacks *atomic.Int64
	tsWarn               ratelog.Limiter

	mu   sync.Mutex // guards cl and bg against Stop
	cl   *kgo.Client
	bg   sync.WaitGroup
	stop context.CancelFunc

	buf []byte
}

// New builds the sink from a validated config; it connects nothing.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	set := cfg.settings()
	opts, _, err := kafkaclient.ProducerOpts(&set.common, set.producer)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		set: set, maker: newRecordMaker(cfg, set),
		name: env.Name, log: env.Logger, c: env.SinkCounters,
		sendTimer: env.SinkCounters.Get("KafkaEventSendTimer"),
		rollbacks: env.SinkCounters.Get("RollbackCount"),
		tsWarn:    ratelog.Limiter{Every: time.Minute},
	}
	s.opts = append(opts, kgo.RecordPartitioner(newPartitioner()), kgo.WithHooks(connHooks{env.SinkCounters}))
	return s, nil
}

// BatchSize is flumeBatchSize.
func (s *Sink) BatchSize() int { return s.set.batchSize }

// Start makes the client, which connects when it first needs a broker, and
// checks in the background (within 10 s) that the brokers answer, so that
// a wrong address or failing SASL shows in the log at once. It never waits
// for Kafka. (The configuration's warnings were given when the agent read
// the file: Config.Warnings.)
func (s *Sink) Start(context.Context) error {
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return fmt.Errorf("kafka sink %s: %w", s.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.cl, s.stop = cl, cancel
	s.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		pctx, pcancel := context.WithTimeout(ctx, startPing)
		defer pcancel()
		if err := kafkaclient.Ping(pctx, cl); err != nil && ctx.Err() == nil {
			s.log.Warn("kafka sink: the brokers do not answer yet; events wait in the channel", "err", err)
		}
	}()
	return nil
}

// Stop closes the client. The core calls it once no Deliver runs, so
// nothing is buffered; Close only ends the connections.
func (s *Sink) Stop(ctx context.Context) error {
	s.mu.Lock()
	cl, stop := s.cl, s.stop
	s.cl, s.stop = nil, nil
	s.mu.Unlock()
	if cl == nil {
		return nil
	}
	stop()
	done := make(chan struct{})
	go func() {
		s.bg.Wait()
		cl.Close()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka sink %s: closing the client: %w", s.name, ctx.Err())
	}
}

func (s *Sink) client() *kgo.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cl
}

// Deliver produces the whole batch and returns once the brokers
// acknowledged every record (as acks asks), or said why not.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	cl := s.client()
	if cl == nil {
		return fmt.Errorf("kafka sink %s: not started: %w", s.name, sluice.ErrClosed)
	}
	start := time.Now()
	s.buf = s.buf[:0]
	// errs and wg belong to this call: after a reset, late answers of the
	// old client's records must not touch the next batch's.
	errs := make([]error, len(events))
	topics := make([]string, len(events))
	var rejected []sluice.Rejection
	var wg sync.WaitGroup
	s.maker.badTimestamps = 0
	for i, e := range events {
		r, err := s.maker.record(ctx, e, &s.buf)
		if err != nil {
			rejected = append(rejected, sluice.Rejection{Index: i, Reason: err})
			continue
		}
		topics[i] = r.Topic
		wg.Add(1)
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			errs[i] = err
			wg.Done()
		})
	}
	if n := s.maker.badTimestamps; n > 0 {
		if ok, held := s.tsWarn.Allow(); ok {
			s.log.Warn("kafka sink: timestampHeader values that are not ms since the epoch; those records get the time they are sent",
				"header", s.maker.tsHeader, "events", n, "similar_warnings_suppressed", held)
		}
	}
	if err := s.wait(ctx, cl, &wg); err != nil {
		s.rollbacks.Add(1)
		return fmt.Errorf("kafka sink %s: %d events not acknowledged: %w", s.name, len(events), s.diagnose(ctx, s.client(), err))
	}
	s.isolateTooLarge(ctx, cl, events, errs)

	retry, rejected, cause := classify(events, topics, errs, rejected)
	switch {
	case len(retry) == 0 && len(rejected) == 0:
		s.sendTimer.Add(time.Since(start).Milliseconds())
		return nil
	case len(retry) == len(events):
		s.rollbacks.Add(1)
		return fmt.Errorf("kafka sink %s: %d events not acknowledged: %w", s.name, len(events), s.diagnose(ctx, cl, cause))
	}
	s.rollbacks.Add(1)
	de := &sluice.DeliveryError{Rejected: rejected}
	if len(retry) > 0 {
		de.Retry, de.Cause = retry, cause
	}
	return de
}

// errNoAnswer is why a batch failed whose records got no answer in time.
var errNoAnswer = errors.New("no answer from the brokers")

// wait waits for every record's answer. Records already sent to a broker
// that then went away never time out in an idempotent producer (their
// sequence numbers must be settled first), so the wait is bounded here:
// past delivery.timeout.ms plus request.timeout.ms (or when ctx ends) the
// client is replaced, which fails what the old one held. Records the old
// one wrote before that are sent again with the batch (at-least-once).
func (s *Sink) wait(ctx context.Context, cl *kgo.Client, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Flush ends linger.ms for this batch, as Flume's producer.flush().
	go func() { _ = cl.Flush(fctx) }()
	dt, _ := cl.OptValue(kgo.RecordDeliveryTimeout).(time.Duration)
	rt, _ := cl.OptValue(kgo.ProduceRequestTimeout).(time.Duration)
	t := time.NewTimer(dt + rt + resetMargin)
	defer t.Stop()
	var err error
	select {
	case <-done:
		return nil
	case <-t.C:
		err = fmt.Errorf("%w within delivery.timeout.ms + request.timeout.ms (%v); the producer was reset", errNoAnswer, dt+rt)
	case <-ctx.Done():
		err = fmt.Errorf("%w before the sink was stopped: %w", errNoAnswer, ctx.Err())
	}
	s.reset(cl)
	// The old client may still write records whose values are slices of
	// buf (the Flume event format) until it is closed: the next batch
	// must not overwrite them.
	s.buf = nil
	return err
}

// resetMargin is added to the record timeouts before Deliver gives up.
const resetMargin = 2 * time.Second

// reset replaces cl by a new client (unless Stop already took it) and
// closes cl in the background, which fails the records it still holds.
func (s *Sink) reset(cl *kgo.Client) {
	s.mu.Lock()
	if s.cl == cl {
		nc, err := kgo.NewClient(s.opts...)
		if err != nil {
			s.mu.Unlock()
			s.log.Error("kafka sink: cannot make a new client", "err", err)
			return
		}
		s.cl = nc
	}
	s.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		cl.Close()
	}()
}

// isolateTooLarge sends again, one at a time, the records that failed as
// too large: a broker refuses a whole batch of records when one of them is
// over max.message.bytes, so the others of its batch failed with it. Alone,
// each gets its own answer. Nothing of a refused batch was written.
func (s *Sink) isolateTooLarge(ctx context.Context, cl *kgo.Client, events []*sluice.Event, errs []error) {
	var idx []int
	for i, err := range errs {
		if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return
	}
	var buf []byte
	for _, i := range idx {
		r, err := s.maker.record(ctx, events[i], &buf)
		if err != nil {
			errs[i] = err
			continue
		}
		errs[i] = cl.ProduceSync(ctx, r).FirstErr()
	}
}

// diagnose says why a whole batch failed: a record timeout or a broken
// connection is checked with a ping, which names the bootstrap servers
// that cannot be reached or the SASL mechanism that failed.
func (s *Sink) diagnose(ctx context.Context, cl *kgo.Client, cause error) error {
	if cl == nil || ctx.Err() != nil {
		return cause
	}
	if kafkaclient.AuthFailed(cause) {
		return kafkaclient.Explain(cl, cause)
	}
	var ne net.Error
	if errors.Is(cause, errNoAnswer) || errors.Is(cause, kgo.ErrRecordTimeout) || errors.Is(cause, kgo.ErrRecordRetries) || errors.As(cause, &ne) || kgo.IsRetryableBrokerErr(cause) {
		pctx, cancel := context.WithTimeout(ctx, diagnosePing)
		defer cancel()
		if err := kafkaclient.Ping(pctx, cl); err != nil {
			return fmt.Errorf("%w (%v)", err, cause)
		}
	}
	return cause
}

// classify sorts the records' answers: those refused for good join
// rejected (with their reason), the others that failed are to be retried,
// cause saying why the first of them failed.
func classify(events []*sluice.Event, topics []string, errs []error, rejected []sluice.Rejection) (retry []int, _ []sluice.Rejection, cause error) {
	for i, err := range errs {
		if err == nil {
			continue
		}
		if kafkaclient.Permanent(err) || badPartitionChoice(err) {
			rejected = append(rejected, sluice.Rejection{Index: i, Reason: reason(topics[i], events[i], err)})
			continue
		}
		retry = append(retry, i)
		if cause == nil {
			cause = fmt.Errorf("topic %q: %w", topics[i], err)
		}
	}
	return retry, rejected, cause
}

// reason explains a record the brokers will never take.
func reason(topic string, e *sluice.Event, err error) error {
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("topic %q does not exist and the brokers do not create it (auto.create.topics.enable is off): %w", topic, err)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("topic %q: a record of %d bytes is larger than kafka.producer.max.request.size or the topic's max.message.bytes allow: %w", topic, len(e.Body), err)
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		return fmt.Errorf("topic %q: not authorized to write: %w", topic, err)
	case errors.Is(err, kerr.InvalidTopicException):
		return fmt.Errorf("topic %q is not a valid topic name: %w", topic, err)
	case badPartitionChoice(err):
		return fmt.Errorf("topic %q has no such partition: %w", topic, err)
	}
	return fmt.Errorf("topic %q: %w", topic, err)
}

// badPartitionChoice recognizes franz-go's failure for a partition the
// topic does not have (a defaultPartitionId or partitionIdHeader too big).
func badPartitionChoice(err error) bool {
	return err != nil && strings.Contains(err.Error(), "invalid record partitioning choice")
}

// connHooks counts connections into Flume's sink counters.
type connHooks struct{ c *sluice.SinkCounters }

func (h connHooks) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.c.ConnectionFailed.Add(1)
		return
	}
	h.c.ConnectionCreated.Add(1)
}

func (h connHooks) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.c.ConnectionClosed.Add(1) }
