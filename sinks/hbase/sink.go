package hbase

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sluiceio/sluice"
	"github.com/tsuna/gohbase"
	"github.com/tsuna/gohbase/hrpc"
)

// Sink is a running HBase sink.
type Sink struct {
	cfg    Config
	name   string
	log    *slog.Logger
	c      *sluice.SinkCounters
	quorum []string
	ser    serializer
	table  []byte
	opts   []func(hrpc.Call) error

	mu      sync.Mutex
	cl      gohbase.Client
	skipped atomic.Bool // a body the regex serializer did not write was logged
}

// New builds the sink; it connects to nothing (Start does).
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	q, err := cfg.quorum()
	if err != nil { // Validate accepted it
		return nil, fmt.Errorf("hbase sink %s: zookeeperQuorum: %w", env.Name, err)
	}
	ser, err := newSerializer(cfg)
	if err != nil {
		return nil, fmt.Errorf("hbase sink %s: %w", env.Name, err)
	}
	s := &Sink{cfg: *cfg, name: env.Name, log: env.Logger, c: env.SinkCounters, quorum: q, ser: ser,
		table: []byte(strings.TrimSpace(cfg.Table))}
	if rs, ok := ser.(*regexSerializer); ok {
		rs.onSkip = s.logSkip
	}
	if !cfg.EnableWal {
		s.opts = append(s.opts, hrpc.Durability(hrpc.SkipWal))
	}
	return s, nil
}

// BatchSize is the most events per transaction.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// where names the destination in errors and logs.
func (s *Sink) where() string {
	return fmt.Sprintf("table %q family %q (zookeeperQuorum %q)", s.table, s.cfg.ColumnFamily, strings.Join(s.quorum, ","))
}

var logrusOnce sync.Once

// quietGohbase sends gohbase's logrus lines to slog at debug level (the
// sink reports outages itself, once) and turns its log.Fatal, which would
// end the process, into the end of the goroutine that logged it: the RPC it
// served then times out and is retried.
func quietGohbase(log *slog.Logger) {
	logrusOnce.Do(func() {
		l := logrus.StandardLogger()
		l.SetLevel(logrus.WarnLevel)
		l.SetOutput(debugWriter{log})
		l.ExitFunc = func(int) { runtime.Goexit() }
	})
}

type debugWriter struct{ log *slog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug("gohbase: " + strings.TrimSpace(string(p)))
	return len(p), nil
}

var _ io.Writer = debugWriter{}

// Start makes the client and checks that the table and the column family
// exist, as Flume's HBase2Sink does: a missing one fails the start. When no
// ZooKeeper server of the quorum can be reached, it starts anyway and the
// events wait in the channel.
func (s *Sink) Start(ctx context.Context) error {
	quietGohbase(s.log)
	// A batch's mutations (a Put and an Increment per event at most) go out
	// as one multi request per region server, as Flume's BufferedMutator
	// sends them, rather than in the client's default groups of 100 that
	// wait 20 ms to fill.
	cl := gohbase.NewClient(strings.Join(s.quorum, ","), gohbase.ZookeeperRoot(s.cfg.ZnodeParent),
		gohbase.RpcQueueSize(2*s.cfg.BatchSize), gohbase.FlushInterval(2*time.Millisecond))
	s.mu.Lock()
	s.cl = cl
	s.mu.Unlock()
	// Created counts a client kept (closed by Stop); Failed a start that
	// could not confirm the table.
	if !s.zookeeperReachable(ctx) {
		s.c.ConnectionFailed.Add(1)
		s.c.ConnectionCreated.Add(1)
		s.log.Warn("hbase sink: no ZooKeeper server of the quorum accepts connections; events wait in the channel",
			"sink", s.name, "zookeeperQuorum", strings.Join(s.quorum, ","))
		return nil
	}
	if err := s.checkTable(ctx); err != nil {
		var missing *missingError
		if errors.As(err, &missing) {
			s.c.ConnectionFailed.Add(1)
			cl.Close()
			s.mu.Lock()
			s.cl = nil
			s.mu.Unlock()
			return fmt.Errorf("hbase sink %s: %w", s.name, err)
		}
		s.c.ConnectionFailed.Add(1)
		s.c.ConnectionCreated.Add(1)
		s.log.Warn("hbase sink: could not check the table at start; events wait in the channel", "sink", s.name, "err", err)
		return nil
	}
	s.c.ConnectionCreated.Add(1)
	s.log.Info("hbase sink started", "sink", s.name, "table", string(s.table), "columnFamily", s.cfg.ColumnFamily,
		"zookeeperQuorum", strings.Join(s.quorum, ","), "serializer", s.cfg.serializerKind())
	return nil
}

// zookeeperReachable reports whether any server of the quorum accepts a TCP
// connection (a quick answer before the client's lookups, which retry).
func (s *Sink) zookeeperReachable(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ok := make(chan bool, len(s.quorum))
	var d net.Dialer
	for _, hp := range s.quorum {
		go func() {
			c, err := d.DialContext(ctx, "tcp", hp)
			if err == nil {
				c.Close()
			}
			ok <- err == nil
		}()
	}
	for range s.quorum {
		if <-ok {
			return true
		}
	}
	return false
}

// missingError is a table or family that does not exist.
type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }

// checkTable reads one row of the family: HBase answers TableNotFound or
// NoSuchColumnFamilyException when either is missing.
func (s *Sink) checkTable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(s.cfg.Timeout, 10*time.Second))
	defer cancel()
	get, err := hrpc.NewGet(ctx, s.table, []byte(s.cfg.IncrementRow),
		hrpc.Families(map[string][]string{s.cfg.ColumnFamily: nil}))
	if err != nil {
		return err
	}
	get.ExistsOnly()
	_, err = s.client().Get(get)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gohbase.TableNotFound):
		return &missingError{fmt.Sprintf("table %q does not exist (zookeeperQuorum %q, znodeParent %q): create it with column family %q",
			s.table, strings.Join(s.quorum, ","), s.cfg.ZnodeParent, s.cfg.ColumnFamily)}
	case strings.Contains(err.Error(), "NoSuchColumnFamilyException"):
		return &missingError{fmt.Sprintf("table %q has no column family %q (zookeeperQuorum %q)",
			s.table, s.cfg.ColumnFamily, strings.Join(s.quorum, ","))}
	}
	return fmt.Errorf("%s: %w", s.where(), err)
}

func (s *Sink) client() gohbase.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cl
}

// Stop closes the client; the core calls it once no Deliver runs.
func (s *Sink) Stop(context.Context) error {
	s.mu.Lock()
	cl := s.cl
	s.cl = nil
	s.mu.Unlock()
	if cl != nil {
		cl.Close()
		s.c.ConnectionClosed.Add(1)
	}
	return nil
}

func (s *Sink) logSkip(i int, why string) {
	if s.skipped.CompareAndSwap(false, true) {
		s.log.Warn("hbase sink: an event was not written (Flume's regex serializer skips it too); further ones are not logged",
			"sink", s.name, "reason", why)
	}
}

// op is one mutation to send and the events it carries.
type op struct {
	row    []byte
	values map[string]map[string][]byte
	inc    bool
	events []int
}

// plan turns the batch into mutations; events the serializer rejects are
// returned as rejections.
func (s *Sink) plan(events []*sluice.Event) ([]op, []sluice.Rejection) {
	var (
		puts     []put
		incs     []increment
		rejected []sluice.Rejection
		err      error
	)
	for i, e := range events {
		if puts, incs, err = s.ser.serialize(i, e, puts, incs); err != nil {
			rejected = append(rejected, sluice.Rejection{Index: i, Reason: err})
		}
	}
	fam := s.cfg.ColumnFamily
	ops := make([]op, 0, len(puts)+len(incs))
	for _, p := range puts {
		ops = append(ops, op{row: p.row, values: map[string]map[string][]byte{fam: p.cells}, events: []int{p.event}})
	}
	if !s.cfg.CoalesceIncrements {
		for _, in := range incs {
			ops = append(ops, op{row: in.row, inc: true, events: []int{in.event},
				values: map[string]map[string][]byte{fam: {in.qual: be64(in.by)}}})
		}
		return ops, rejected
	}
	// One Increment per row, each column summed, as Flume's
	// coalesceIncrements.
	type sum struct {
		row    []byte
		by     map[string]int64
		events []int
	}
	var rows []*sum
	byRow := map[string]*sum{}
	for _, in := range incs {
		r := byRow[string(in.row)]
		if r == nil {
			r = &sum{row: in.row, by: map[string]int64{}}
			byRow[string(in.row)] = r
			rows = append(rows, r)
		}
		r.by[in.qual] += in.by
		r.events = append(r.events, in.event)
	}
	for _, r := range rows {
		cols := make(map[string][]byte, len(r.by))
		for q, n := range r.by {
			cols[q] = be64(n)
		}
		ops = append(ops, op{row: r.row, inc: true, events: r.events, values: map[string]map[string][]byte{fam: cols}})
	}
	return ops, rejected
}

func be64(n int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n))
	return b
}

var errNotSent = errors.New("not sent")

// Deliver sends every Put and Increment of the batch at once and returns
// nil only when HBase acknowledged all of them. When some failed, the
// events they carry are delivered again (a plain error when all failed, so
// the core rolls back and reports the outage).
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	ops, rejected := s.plan(events)
	if len(rejected) > 0 {
		// Send nothing, as Flume (whose serializer throws before any write):
		// the core sets the rejected events aside when a dead letter is
		// configured and hands the rest back, or rolls the batch back.
		rej := map[int]bool{}
		for _, r := range rejected {
			rej[r.Index] = true
		}
		de := &sluice.DeliveryError{Rejected: rejected, Cause: errors.New("held back while events of the batch were rejected")}
		for i := range events {
			if !rej[i] {
				de.Retry = append(de.Retry, i)
			}
		}
		return de
	}
	if len(ops) == 0 {
		return nil
	}
	cl := s.client()
	if cl == nil {
		return fmt.Errorf("hbase sink %s: not started", s.name)
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i := range ops {
		errs[i] = errNotSent // stays if the goroutine ends early
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.send(rctx, cl, &ops[i])
		}()
	}
	wg.Wait()
	failed := map[int]bool{}
	var first error
	nfailed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		nfailed++
		if first == nil {
			first = err
		}
		for _, e := range ops[i].events {
			failed[e] = true
		}
	}
	if nfailed == 0 {
		return nil
	}
	cause := fmt.Errorf("hbase sink %s: %d of %d mutations failed, %s: %w", s.name, nfailed, len(ops), s.where(), first)
	if nfailed == len(ops) {
		return cause
	}
	retry := make([]int, 0, len(failed))
	for e := range failed {
		retry = append(retry, e)
	}
	sort.Ints(retry)
	return &sluice.DeliveryError{Retry: retry, Cause: cause}
}

// send makes one Put or Increment and waits for HBase's answer.
func (s *Sink) send(ctx context.Context, cl gohbase.Client, o *op) error {
	var (
		m   *hrpc.Mutate
		err error
	)
	if o.inc {
		m, err = hrpc.NewInc(ctx, s.table, o.row, o.values, s.opts...)
	} else {
		m, err = hrpc.NewPut(ctx, s.table, o.row, o.values, s.opts...)
	}
	if err != nil {
		return err
	}
	// Put sends any Mutate and returns HBase's answer (Increment insists
	// on exactly one cell, which a coalesced increment does not have).
	if _, err = cl.Put(m); err != nil {
		if o.inc {
			return fmt.Errorf("increment of row %q: %w", trimKey(o.row), err)
		}
		return fmt.Errorf("put of row %q: %w", trimKey(o.row), err)
	}
	return nil
}

// trimKey shortens a row key for an error message.
func trimKey(k []byte) []byte {
	if len(k) > 64 {
		return append(bytes.Clone(k[:64]), "..."...)
	}
	return k
}
