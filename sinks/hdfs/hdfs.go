// Package hdfs is Flume's HDFS sink: it writes events into files on HDFS,
// in directories and files named from the events' time and headers
// (Flume's escapes), as SequenceFiles, plain streams or compressed streams,
// rolling files by time, size and count. Every file a batch touched is
// flushed to the DataNodes before the core commits the batch.
package hdfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sinks/serializer"
)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "hdfs",
		Aliases:   []string{"org.apache.flume.sink.hdfs.HDFSEventSink"},
		Stability: sluice.Beta,
		Doc: "Writes events to files on HDFS, in directories and file names built from the event's time " +
			"and headers (Flume's escapes), as Hadoop SequenceFiles (the default), plain streams through an " +
			"event serializer, or compressed streams; rolls files by time, size and count. Every file a batch " +
			"touched is flushed to HDFS before the channel commits the batch.",
		Notes:   notes,
		Factory: sluice.MakeFactory(defaults, New),
		Example: "a1.sinks = k1\n" +
			"a1.sinks.k1.type = hdfs\n" +
			"a1.sinks.k1.channel = c1\n" +
			"a1.sinks.k1.hdfs.path = hdfs://namenode:8020/flume/events/%Y-%m-%d/%H%M\n" +
			"a1.sinks.k1.hdfs.filePrefix = events-%{host}\n" +
			"a1.sinks.k1.hdfs.fileType = DataStream\n" +
			"a1.sinks.k1.hdfs.round = true\n" +
			"a1.sinks.k1.hdfs.roundValue = 10\n" +
			"a1.sinks.k1.hdfs.roundUnit = minute\n" +
			"a1.sinks.k1.hdfs.rollCount = 0\n" +
			"a1.sinks.k1.hdfs.rollSize = 134217728\n" +
			"a1.sinks.k1.hdfs.useLocalTimeStamp = true\n",
	})
}

// Sink is the hdfs sink. The core calls Deliver, Idle and Settled from one
// goroutine; Stop may come from another, so the state is guarded by lock (a
// one-slot channel, so Stop can give up at its deadline).
type Sink struct {
	cfg        Config
	name       string
	log        *slog.Logger
	c          *sluice.SinkCounters
	ftype      string
	codec      *codec
	build      serializer.Builder
	pathT      *template
	nameT      *template
	tgt        target
	topts      timeOpts
	user       string
	now        func() time.Time
	closeTries int

	lock      chan struct{}
	stopped   bool
	client    *hdfs.Client
	acks      *ackTracker // the DataNode connections of client
	ackWarned bool
	scanned   bool // the start-up scan for in-use files ran
	buckets   map[string]*bucket
	used      uint64
	batchMark uint64 // s.used when the current batch began
	pending   []*pendingClose
	touched   []*hfile // files written by the last Deliver
	sb        strings.Builder
}

// bucket is one directory + file prefix (Flume's BucketWriter): it writes
// one file at a time, numbered from the clock when the bucket was made.
type bucket struct {
	key     string
	dir     string
	prefix  string
	counter int64
	f       *hfile
	used    uint64
}

// hfile is the file a bucket is writing.
type hfile struct {
	b         *bucket
	tmp       string
	final     string
	w         *hdfs.FileWriter
	cw        countingWriter
	bw        *bufio.Writer
	comp      compressor
	ser       serializer.Serializer
	seq       *seqWriter
	opened    time.Time
	lastWrite time.Time
	events    int64 // events appended (Flume's eventCounter)
	size      int64 // body bytes appended (Flume's processSize)
	flushed   int64 // file length at the last flush
	committed int64 // file length at the last committed batch
	cEvents   int64 // events in the file at the last commit
	closed    bool  // rolled while its batch was being written
}

// pendingClose is a file whose close failed, or that must be cut back to
// its committed length: it is retried every retryInterval (Flume's
// closeTries): lease recovery, truncation, then the rename.
type pendingClose struct {
	tmp, final string
	cut        int64 // length to cut the file back to; -1: keep it
	tries      int
	next       time.Time
	recovered  bool
	underway   bool // the last try left a lease recovery under way on the NameNode
	// waitedReplicas: the NameNode knew no replica of the last block at a
	// try (logged once).
	waitedReplicas bool
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// New builds the sink from a validated config. It connects to nothing.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	s := &Sink{cfg: *cfg, name: env.Name, log: env.Logger, c: env.SinkCounters, now: time.Now,
		ftype: strings.ToLower(cfg.FileType), lock: make(chan struct{}, 1), buckets: map[string]*bucket{}}
	s.tgt, _ = parseTarget(cfg.Path)
	s.pathT, _ = compileTemplate(s.tgt.path)
	s.nameT, _ = compileTemplate(cfg.FilePrefix)
	if cfg.CodeC != "" {
		s.codec, _ = lookupCodec(cfg.CodeC)
	}
	if s.ftype != typeSequence {
		b, err := serializer.New(env, "serializer", cfg.Serializer, cfg.SerializerProps)
		if err != nil {
			return nil, err
		}
		s.build = b
	}
	s.topts.loc = time.Local
	if cfg.TimeZone != "" {
		s.topts.loc, _ = loadZone(cfg.TimeZone)
	}
	if cfg.Round {
		s.topts.round, _ = roundUnit(cfg.RoundUnit)
		s.topts.roundVal = cfg.RoundValue
	}
	s.topts.local = cfg.UseLocalTime
	s.user = cfg.User
	if s.user == "" {
		s.user = cfg.ProxyUser
	}
	if s.user == "" {
		s.user = os.Getenv("HADOOP_USER_NAME")
	}
	if s.user == "" {
		if u, err := user.Current(); err == nil {
			s.user = u.Username
		}
	}
	s.closeTries = cfg.CloseTries
	if s.closeTries < 0 {
		s.closeTries = 0
	}
	if cfg.EmptyInUseSuf {
		s.cfg.InUseSuffix = ""
	}
	return s, nil
}

// BatchSize is hdfs.batchSize.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

func (s *Sink) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sink) release() { <-s.lock }

// Start returns at once: the sink connects to HDFS on its first batch, so
// an agent starts while the NameNode is away.
func (s *Sink) Start(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	s.stopped = false
	s.log.Info("hdfs sink started", "sink", s.name, "path", s.cfg.Path, "fileType", s.cfg.FileType, "user", s.user)
	return nil
}

// Stop closes and renames every open file and retries pending closes once.
func (s *Sink) Stop(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return fmt.Errorf("hdfs sink %s: stop: %w", s.name, err)
	}
	defer s.release()
	if s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	left := 0
	for _, b := range s.buckets {
		if ctx.Err() != nil {
			left++ // out of time: the next start recovers and renames it
			continue
		}
		if err := s.closeFile(b); err != nil {
			errs = append(errs, err)
		}
	}
	if left > 0 {
		s.log.Warn("hdfs sink: stop ran out of time; files left in use are recovered at the next start", "sink", s.name, "files", left)
	}
	s.buckets = map[string]*bucket{}
	if s.client != nil {
		s.retryPending(s.now(), true)
		// Lease recoveries the NameNode has under way (files a killed run
		// left in use, found at start) finish within seconds on a healthy
		// cluster: wait for them while the stop has time, so that a clean
		// stop leaves no file in use. Not after a failure: HDFS is away.
		deadline := time.Now().Add(stopRecoveryWait)
		for s.client != nil && recoveringOnly(s.pending) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
			case <-time.After(stopRecoveryPoll):
			}
			if ctx.Err() != nil {
				break
			}
			s.retryPending(s.now(), true)
		}
		for _, p := range s.pending {
			s.log.Warn("hdfs sink: file left open or in use at stop; it is recovered at the next start", "sink", s.name, "file", p.tmp)
		}
		s.pending = nil
		if s.client != nil {
			_ = s.client.Close()
			s.client = nil
		}
	}
	return errors.Join(errs...)
}

// stopRecoveryWait bounds how long Stop waits for lease recoveries under
// way (within the stop's own deadline), looking every stopRecoveryPoll.
const (
	stopRecoveryWait = 8 * time.Second
	stopRecoveryPoll = 500 * time.Millisecond
)

// recoveringOnly reports whether there are pending closes and each is
// waiting for a lease recovery the NameNode has under way (its last try
// found no error).
func recoveringOnly(pending []*pendingClose) bool {
	for _, p := range pending {
		if !p.underway {
			return false
		}
	}
	return len(pending) > 0
}

// deadlineConn bounds every read and write by hdfs.callTimeout, so a
// NameNode or DataNode that stops answering fails the call instead of
// hanging the sink. Reads happen only while an answer is awaited.
type deadlineConn struct {
	net.Conn
	d time.Duration
}

func (c deadlineConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c deadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

func (s *Sink) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.CallTimeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil || s.cfg.CallTimeout <= 0 {
		return conn, err
	}
	return deadlineConn{Conn: conn, d: s.cfg.CallTimeout}, nil
}

// dialDataNode dials a DataNode connection whose acknowledgements the
// sink follows.
func (s *Sink) dialDataNode(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := s.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return s.acks.wrap(conn), nil
}

// connect makes the client, and once per start looks for in-use files a
// crash left behind.
func (s *Sink) connect() error {
	if s.client == nil {
		addrs, err := s.tgt.resolve()
		if err != nil {
			return fmt.Errorf("hdfs sink %s: hdfs.path %q: %w", s.name, s.cfg.Path, err)
		}
		s.acks = newAckTracker()
		c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: addrs, User: s.user,
			NamenodeDialFunc: s.dial, DatanodeDialFunc: s.dialDataNode})
		if err != nil {
			s.c.ConnectionFailed.Add(1)
			return fmt.Errorf("hdfs sink %s: cannot reach the NameNode at %s: %w", s.name, strings.Join(addrs, ","), err)
		}
		s.client = c
		// Closes that failed while HDFS was away wait hdfs.retryInterval
		// (3 minutes by default) for their next try, and their committed
		// events stay unreadable in a file under construction until then:
		// now that HDFS answers again, try them at once.
		now := s.now()
		for _, p := range s.pending {
			p.next = now
		}
	}
	if !s.scanned {
		if err := s.scanInUse(); err != nil {
			return err
		}
		s.scanned = true
	}
	return nil
}

// dropClient forgets a client after a NameNode failure, so the next batch
// connects again.
func (s *Sink) dropClient() {
	if s.client != nil {
		_ = s.client.Close()
		s.client = nil
	}
}

// scanInUse finds files with the in-use prefix/suffix and this sink's file
// prefix under the fixed part of hdfs.path: a crashed agent left them open.
// They are queued for lease recovery and renaming.
func (s *Sink) scanInUse() error {
	if !s.cfg.RecoverInUse || s.cfg.InUsePrefix == "" && s.cfg.InUseSuffix == "" {
		return nil
	}
	root := s.pathT.staticPrefix()
	if !s.pathT.static {
		root = root[:strings.LastIndexByte(root, '/')+1]
	}
	root = path.Clean("/" + root)
	if root == "/" {
		s.log.Info("hdfs sink: hdfs.path has no fixed directory before its first escape; not looking for in-use files left by a crash (that would walk the whole file system)", "sink", s.name)
		return nil
	}
	namePrefix := s.cfg.InUsePrefix + s.nameT.staticPrefix()
	var found []string
	err := s.client.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if info.IsDir() {
			return nil
		}
		base := path.Base(p)
		if strings.HasPrefix(base, namePrefix) && strings.HasSuffix(base, s.cfg.InUseSuffix) &&
			len(base) > len(s.cfg.InUsePrefix)+len(s.cfg.InUseSuffix) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.dropClient()
		return fmt.Errorf("hdfs sink %s: looking for in-use files under %s: %w", s.name, root, err)
	}
	now := s.now()
	for _, p := range found {
		dir, base := path.Split(p)
		final := dir + strings.TrimSuffix(strings.TrimPrefix(base, s.cfg.InUsePrefix), s.cfg.InUseSuffix)
		s.log.Info("hdfs sink: found an in-use file left by an earlier run; recovering its lease and renaming it", "sink", s.name, "file", p, "to", final)
		s.pending = append(s.pending, &pendingClose{tmp: p, final: final, cut: -1, next: now})
	}
	s.retryPending(now, false)
	return nil
}

// resolve builds the directory and file prefix of one event.
func (s *Sink) resolve(e *sluice.Event, now time.Time) (dir, prefix string, err error) {
	s.sb.Reset()
	if err := s.pathT.expand(e, &s.topts, now, &s.sb); err != nil {
		return "", "", err
	}
	dir = cleanDir(s.tgt.path, s.sb.String())
	s.sb.Reset()
	if err := s.nameT.expand(e, &s.topts, now, &s.sb); err != nil {
		return "", "", err
	}
	return dir, s.sb.String(), nil
}

// cleanDir normalises an expanded path. Header values cannot hold '/', so
// the expanded path has as many levels as the template; a level that
// became "." or ".." only through a header value is made harmless.
func cleanDir(tmpl, expanded string) string {
	if strings.Contains(expanded, "/.") {
		tl, el := strings.Split(tmpl, "/"), strings.Split(expanded, "/")
		if len(tl) == len(el) {
			for i, c := range el {
				if (c == "." || c == "..") && tl[i] != c {
					el[i] = strings.Repeat("_", len(c))
				}
			}
			expanded = strings.Join(el, "/")
		}
	}
	return path.Clean("/" + expanded)
}

func (s *Sink) bucketFor(dir, prefix string) *bucket {
	key := dir + "/" + prefix
	b := s.buckets[key]
	if b == nil {
		b = &bucket{key: key, dir: dir, prefix: prefix, counter: s.now().UnixMilli()}
		s.buckets[key] = b
		for len(s.buckets) > s.cfg.MaxOpenFiles && s.evictOldest(b) {
		}
	}
	s.used++
	b.used = s.used
	return b
}

// evictOldest closes the least recently used bucket (Flume's
// WriterLinkedHashMap with hdfs.maxOpenFiles).
func (s *Sink) evictOldest(keep *bucket) bool {
	var old *bucket
	for _, b := range s.buckets {
		// A bucket this batch uses stays, even beyond the limit.
		if b != keep && b.used <= s.batchMark && (old == nil || b.used < old.used) {
			old = b
		}
	}
	if old == nil {
		return false
	}
	if err := s.closeFile(old); err != nil {
		s.log.Warn("hdfs sink: closing the least recently used file failed", "sink", s.name, "error", err)
	}
	delete(s.buckets, old.key)
	return true
}

// Deliver writes the batch into its files and flushes every file it
// touched; the core commits only after it returned nil.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.stopped {
		return fmt.Errorf("hdfs sink %s: %w", s.name, sluice.ErrClosed)
	}
	s.touched = s.touched[:0]
	if err := s.connect(); err != nil {
		return err
	}
	now := s.now()
	s.maintain(now)
	s.batchMark = s.used

	// Resolve every event first: an event whose path cannot be built
	// (no timestamp header) is rejected before anything is written.
	bs := make([]*bucket, len(events))
	var rejected []sluice.Rejection
	for i, e := range events {
		dir, prefix, err := s.resolve(e, now)
		if err != nil {
			rejected = append(rejected, sluice.Rejection{Index: i, Reason: fmt.Errorf("hdfs sink %s: hdfs.path %q: %w", s.name, s.cfg.Path, err)})
			continue
		}
		if s.ftype == typeSequence {
			if h, ok := e.Headers["timestamp"]; ok {
				if _, err := strconv.ParseInt(h, 10, 64); err != nil {
					rejected = append(rejected, sluice.Rejection{Index: i, Reason: fmt.Errorf("hdfs sink %s: %w", s.name, errBadTimestamp{h})})
					continue
				}
			}
		}
		bs[i] = s.bucketFor(dir, prefix)
	}
	if len(rejected) > 0 {
		de := &sluice.DeliveryError{Rejected: rejected, Cause: rejected[0].Reason}
		for i := range events {
			if bs[i] != nil {
				de.Retry = append(de.Retry, i)
			}
		}
		return de
	}

	for i, e := range events {
		if err := s.append(bs[i], e, now); err != nil {
			return s.failBatch(err)
		}
	}
	for _, f := range s.touched {
		if f.closed {
			continue // rolled during the batch: closed (and flushed) already
		}
		if err := s.flush(f); err != nil {
			return s.failBatch(fmt.Errorf("hdfs sink %s: flush %s: %w", s.name, f.tmp, s.explain(err)))
		}
	}
	return nil
}

// append writes one event to its bucket, opening or rolling the file as
// Flume's BucketWriter.append does: a full file (rollCount events or
// rollSize body bytes) is closed before the event goes to a new one.
func (s *Sink) append(b *bucket, e *sluice.Event, now time.Time) error {
	if f := b.f; f != nil {
		if f.w == nil || s.cfg.RollCount > 0 && f.events >= s.cfg.RollCount || s.cfg.RollSize > 0 && f.size >= s.cfg.RollSize ||
			s.cfg.RollInterval > 0 && !now.Before(f.opened.Add(s.cfg.RollInterval)) {
			if err := s.closeFile(b); err != nil {
				// Events of this batch may be in it: fail the batch, so the
				// file is cut back to its committed events and they are
				// written again.
				return err
			}
		}
	}
	if b.f == nil {
		if err := s.open(b, now); err != nil {
			return err
		}
	}
	f := b.f
	if !s.isTouched(f) {
		s.touched = append(s.touched, f)
		if s.cfg.CallTimeout > 0 && f.w != nil {
			_ = f.w.SetDeadline(now.Add(s.cfg.CallTimeout))
		}
	}
	var err error
	if f.seq != nil {
		err = f.seq.append(e)
	} else {
		err = f.ser.Write(e)
	}
	if err != nil {
		return fmt.Errorf("hdfs sink %s: write %s: %w", s.name, f.tmp, s.explain(err))
	}
	f.events++
	f.size += int64(len(e.Body))
	f.lastWrite = now
	return nil
}

func (s *Sink) isTouched(f *hfile) bool {
	for _, t := range s.touched {
		if t == f {
			return true
		}
	}
	return false
}

// open creates the bucket's next file under its in-use name.
func (s *Sink) open(b *bucket, now time.Time) error {
	if err := s.client.MkdirAll(b.dir, 0o755); err != nil {
		return s.hdfsErr("create directory", b.dir, err)
	}
	var w *hdfs.FileWriter
	var tmp, final string
	for try := 0; ; try++ {
		b.counter++
		name := b.prefix + "." + strconv.FormatInt(b.counter, 10)
		if s.cfg.FileSuffix != "" {
			name += s.cfg.FileSuffix
		} else if s.codec != nil {
			name += s.codec.ext
		}
		tmp = path.Join(b.dir, s.cfg.InUsePrefix+name+s.cfg.InUseSuffix)
		final = path.Join(b.dir, name)
		if final != tmp {
			// Never write a name a closed file already has.
			if _, err := s.client.Stat(final); err == nil {
				continue
			}
		}
		var err error
		w, err = s.client.Create(tmp)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || try > 100 {
			s.c.ConnectionFailed.Add(1)
			return s.hdfsErr("create", tmp, err)
		}
	}
	f := &hfile{b: b, tmp: tmp, final: final, w: w, opened: now, lastWrite: now}
	f.cw.w = w
	f.bw = bufio.NewWriterSize(&f.cw, 64<<10)
	fail := func(err error) error {
		_ = w.Close()
		_ = s.client.Remove(tmp)
		return fmt.Errorf("hdfs sink %s: start file %s: %w", s.name, tmp, err)
	}
	switch s.ftype {
	case typeSequence:
		f.seq = newSeqWriter(f.bw, strings.EqualFold(s.cfg.WriteFormat, "text"), s.codec != nil, s.now)
		if err := f.seq.header(); err != nil {
			return fail(err)
		}
	default:
		var out io.Writer = f.bw
		if s.ftype == typeCompressed {
			f.comp = s.codec.stream(f.bw)
			out = f.comp
		}
		ser, err := s.build(out)
		if err != nil {
			return fail(err)
		}
		if err := ser.AfterCreate(); err != nil {
			return fail(err)
		}
		f.ser = ser
	}
	b.f = f
	s.c.ConnectionCreated.Add(1)
	s.log.Info("hdfs sink: creating file", "sink", s.name, "file", tmp)
	return nil
}

// flush pushes a file's batch to the DataNodes: the format's pending bytes
// (a sync marker, the end of a compressed unit), the buffer, then the
// HDFS stream (hflush).
func (s *Sink) flush(f *hfile) error {
	var err error
	switch {
	case f.seq != nil:
		err = f.seq.flush()
	default:
		err = f.ser.Flush()
		if err == nil && f.comp != nil {
			err = f.comp.finish()
		}
	}
	if err == nil {
		err = f.bw.Flush()
	}
	if err == nil {
		err = f.w.Flush()
	}
	if err != nil {
		return err
	}
	// Wait for the DataNodes' acknowledgements, as Java's hflush does
	// (see acks.go). Where they cannot be followed, closing the file
	// waits for them instead, and the file is opened again for append.
	var deadline time.Time
	if s.cfg.CallTimeout > 0 {
		deadline = time.Now().Add(s.cfg.CallTimeout)
	}
	err = s.acks.waitAcked(deadline)
	if err == nil {
		f.flushed = f.cw.n
		return nil
	}
	if !errors.Is(err, errUntracked) {
		return err
	}
	if !s.ackWarned {
		s.ackWarned = true
		s.log.Warn("hdfs sink: cannot follow the DataNodes' acknowledgements on this connection; closing and reopening the file after each batch instead (slower)", "sink", s.name)
	}
	if err := closeWriter(f.w); err != nil {
		return err
	}
	f.flushed = f.cw.n
	w, err := s.client.Append(f.tmp)
	if err != nil {
		// The batch is safe in a closed file: finish that file now, and
		// the next batch starts a new one.
		f.w = nil
		s.log.Warn("hdfs sink: could not reopen a file for append; closing it", "sink", s.name, "file", f.tmp, "error", err)
		return nil
	}
	f.w = w
	f.cw.w = w
	if s.cfg.CallTimeout > 0 {
		_ = w.SetDeadline(time.Now().Add(s.cfg.CallTimeout))
	}
	return nil
}

// failBatch gives up every file the batch touched: their uncommitted part
// is cut off once HDFS lets go of them, and the batch goes to new files
// when the core retries it.
func (s *Sink) failBatch(err error) error {
	for _, f := range s.touched {
		s.abandon(f)
	}
	s.touched = s.touched[:0]
	if isConnErr(err) {
		s.dropClient()
	}
	return err
}

// abandon closes a file without its uncommitted tail: the writer is
// closed if it can be, and the file queued to be cut back to its
// committed length (removed if it holds nothing committed) and renamed.
func (s *Sink) abandon(f *hfile) {
	if f.closed {
		return
	}
	f.closed = true
	if f.b.f == f {
		f.b.f = nil
	}
	if f.w != nil {
		_ = f.w.SetDeadline(time.Now().Add(5 * time.Second))
		_ = f.w.Close()
	}
	s.c.ConnectionClosed.Add(1)
	p := &pendingClose{tmp: f.tmp, final: f.final, cut: f.committed, next: s.now()}
	s.pending = append(s.pending, p)
	s.log.Warn("hdfs sink: file abandoned after a failed batch; it will be cut back to its committed events and renamed",
		"sink", s.name, "file", f.tmp, "committedBytes", f.committed)
}

// Settled moves the committed mark of the files the batch wrote, or, when
// the channel rolled the batch back after all, cuts it out of them.
func (s *Sink) Settled(ctx context.Context, committed bool) {
	if err := s.acquire(ctx); err != nil {
		return
	}
	defer s.release()
	for _, f := range s.touched {
		if committed {
			f.committed = f.flushed
			f.cEvents = f.events
			if f.w == nil && !f.closed {
				if err := s.closeFile(f.b); err != nil {
					s.log.Warn("hdfs sink: renaming a closed file failed", "sink", s.name, "error", err)
				}
			}
		} else {
			s.abandon(f)
		}
	}
	s.touched = s.touched[:0]
}

// Idle closes files whose rollInterval or idleTimeout passed and retries
// pending closes (Flume's roll timer and idle timer).
func (s *Sink) Idle(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.stopped {
		return nil
	}
	if !s.scanned {
		// Nothing came yet: still recover what a crash left.
		if err := s.connect(); err != nil {
			return err
		}
	}
	s.maintain(s.now())
	return nil
}

// maintain runs the timed work: interval rolls, idle closes, close retries.
func (s *Sink) maintain(now time.Time) {
	for key, b := range s.buckets {
		f := b.f
		if f == nil {
			continue
		}
		switch {
		case s.cfg.IdleTimeout > 0 && !now.Before(f.lastWrite.Add(s.cfg.IdleTimeout)):
			s.log.Info("hdfs sink: closing idle file", "sink", s.name, "file", f.tmp)
			if err := s.closeFile(b); err != nil {
				s.log.Warn("hdfs sink: closing an idle file failed", "sink", s.name, "error", err)
			}
			delete(s.buckets, key)
		case s.cfg.RollInterval > 0 && !now.Before(f.opened.Add(s.cfg.RollInterval)):
			if err := s.closeFile(b); err != nil {
				s.log.Warn("hdfs sink: rolling a file failed", "sink", s.name, "error", err)
			}
		}
	}
	if s.client != nil {
		s.retryPending(now, false)
	}
}

// closeFile writes the format's trailer, closes the file on HDFS and
// renames it to its final name. A file that cannot be closed goes to the
// pending list, retried every retryInterval.
func (s *Sink) closeFile(b *bucket) error {
	f := b.f
	if f == nil {
		return nil
	}
	b.f = nil
	f.closed = true
	var err error
	if f.w == nil {
		// Closed already after its last batch (reopening it failed).
	} else if f.seq != nil {
		err = f.seq.close()
	} else {
		err = f.ser.Flush()
		if err == nil {
			err = f.ser.BeforeClose()
		}
		if err == nil && f.comp != nil {
			err = f.comp.finish()
		}
	}
	if f.w != nil {
		if err == nil {
			err = f.bw.Flush()
		}
		if err == nil && s.cfg.CallTimeout > 0 {
			_ = f.w.SetDeadline(time.Now().Add(s.cfg.CallTimeout))
		}
		if err == nil {
			err = closeWriter(f.w)
		} else {
			_ = f.w.Close()
		}
	}
	if err != nil {
		s.c.ConnectionFailed.Add(1)
		cut := f.committed
		if f.flushed > cut {
			cut = f.flushed // flushed and not yet settled: Settled decides
		}
		s.pending = append(s.pending, &pendingClose{tmp: f.tmp, final: f.final, cut: cut, next: s.retryAt(err), tries: 1})
		if isConnErr(err) {
			s.dropClient()
		}
		return fmt.Errorf("hdfs sink %s: close %s (retried every hdfs.retryInterval): %w", s.name, f.tmp, s.explain(err))
	}
	s.c.ConnectionClosed.Add(1)
	if f.tmp != f.final {
		if err := s.client.Rename(f.tmp, f.final); err != nil {
			s.pending = append(s.pending, &pendingClose{tmp: f.tmp, final: f.final, cut: -1, recovered: true, next: s.retryAt(err), tries: 1})
			return s.hdfsErr("rename", f.tmp, err)
		}
	}
	s.log.Info("hdfs sink: closed file", "sink", s.name, "file", f.final, "events", f.events)
	return nil
}

// closeWriter closes an HDFS file, waiting a little while the NameNode
// still counts the last block's replicas (the Java client retries too).
func closeWriter(w *hdfs.FileWriter) error {
	err := w.Close()
	for i := 0; i < 10 && err != nil && hdfs.IsErrReplicating(err); i++ {
		time.Sleep(time.Duration(2<<i) * time.Millisecond)
		err = w.Close()
	}
	return err
}

// recoveryPoll is how often a lease recovery under way is looked at.
const recoveryPoll = 2 * time.Second

// retryPending works through files whose close failed: recover the lease
// (the NameNode closes the file), cut off what was never committed,
// rename. force ignores retryInterval (at stop).
func (s *Sink) retryPending(now time.Time, force bool) {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if s.client == nil || !force && now.Before(p.next) {
			kept = append(kept, p)
			continue
		}
		done, err := s.finishPending(p)
		if done {
			continue
		}
		p.underway = err == nil
		if err == nil || notReadyYet(err) || unreachable(err) {
			// Lease recovery is under way on the NameNode, the NameNode is
			// still starting (safe mode) or HDFS cannot be reached: look
			// again soon, not after retryInterval, since the file's
			// committed events are not readable until it is closed.
			// (Recovering a lease too early cannot lose the last block:
			// finishPending waits until the NameNode knows its replicas.)
			if err != nil && isConnErr(err) {
				s.dropClient()
			}
			p.next = now.Add(min(s.cfg.RetryInterval, recoveryPoll))
			kept = append(kept, p)
			continue
		}
		p.tries++
		p.next = now.Add(s.cfg.RetryInterval)
		if err != nil {
			s.log.Warn("hdfs sink: could not close a file yet; retrying", "sink", s.name, "file", p.tmp, "try", p.tries, "error", err)
			if isConnErr(err) {
				s.dropClient()
			}
		}
		if s.closeTries > 0 && p.tries >= s.closeTries {
			s.log.Error("hdfs sink: gave up closing a file after hdfs.closeTries attempts; it stays in use until the NameNode recovers it, and the next start renames it",
				"sink", s.name, "file", p.tmp, "tries", p.tries)
			continue
		}
		kept = append(kept, p)
	}
	s.pending = kept
}

func (s *Sink) finishPending(p *pendingClose) (bool, error) {
	c := s.client
	if p.cut == 0 {
		// Nothing of it was committed: remove it (works on an open file).
		if err := c.Remove(p.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
		return true, nil
	}
	if !p.recovered {
		// Not while the NameNode knows no replica of the file's last block
		// (it restarted and the DataNodes have not reported yet): it would
		// drop the block, flushed events and all. Wait for the reports.
		if unplaced, err := lastBlockUnplaced(c, p.tmp); err == nil && unplaced {
			if !p.waitedReplicas {
				p.waitedReplicas = true
				s.log.Info("hdfs sink: waiting for the DataNodes to report the last block of a file before recovering its lease", "sink", s.name, "file", p.tmp)
			}
			return false, nil
		}
		closed, err := recoverLease(c, p.tmp)
		if err != nil {
			if errors.Is(interpret(err), os.ErrNotExist) {
				return true, nil // gone (renamed or removed by someone)
			}
			return false, err
		}
		if !closed {
			return false, nil
		}
		p.recovered = true
	}
	if p.cut > 0 {
		fi, err := c.Stat(p.tmp)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return true, nil
			}
			return false, err
		}
		if fi.Size() > p.cut {
			if _, err := c.Truncate(p.tmp, p.cut); err != nil {
				return false, err
			}
			s.log.Info("hdfs sink: cut a file back to its committed events", "sink", s.name, "file", p.tmp, "bytes", p.cut)
		}
		p.cut = -1
	}
	if p.tmp != p.final {
		if err := c.Rename(p.tmp, p.final); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return true, nil
			}
			return false, err
		}
	}
	s.log.Info("hdfs sink: closed and renamed a file left in use", "sink", s.name, "file", p.final)
	return true, nil
}

// interpret maps a remote exception class in err's text to an os error.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	m := err.Error()
	switch {
	case strings.Contains(m, "FileNotFoundException"):
		return fmt.Errorf("%w: %v", os.ErrNotExist, err)
	case strings.Contains(m, "AccessControlException"):
		return fmt.Errorf("%w: %v", os.ErrPermission, err)
	}
	return err
}

// retryAt is when a close or rename that failed with err is tried again:
// soon when HDFS is away or the NameNode not ready yet, else after
// retryInterval.
func (s *Sink) retryAt(err error) time.Time {
	if notReadyYet(err) || unreachable(err) {
		return s.now().Add(min(s.cfg.RetryInterval, recoveryPoll))
	}
	return s.now().Add(s.cfg.RetryInterval)
}

// notReadyYet reports a NameNode that answers but is not ready for
// changes yet: in safe mode after a restart, until the DataNodes have
// reported their blocks.
func notReadyYet(err error) bool {
	m := err.Error()
	return strings.Contains(m, "SafeModeException") || strings.Contains(m, "RetriableException")
}

// unreachable reports an HDFS that cannot be reached at the moment (as
// opposed to an answer refusing the call).
func unreachable(err error) bool {
	m := err.Error()
	return isConnErr(err) || strings.Contains(m, "no available namenodes") || strings.Contains(m, "connection refused")
}

// isConnErr reports failures of the connection itself (as opposed to an
// answer from the NameNode), after which a new client is needed.
func isConnErr(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded)
}

// explain adds what a user can do to the HDFS failures that need a person.
func (s *Sink) explain(err error) error {
	m := err.Error()
	switch {
	case errors.Is(err, os.ErrPermission) || strings.Contains(m, "AccessControlException"):
		return fmt.Errorf("permission denied for HDFS user %q (set hdfs.user, or grant it write access): %w", s.user, err)
	case strings.Contains(m, "QuotaExceeded"):
		return fmt.Errorf("HDFS quota exceeded (free space or raise the directory's quota); the events stay in the channel: %w", err)
	case strings.Contains(m, "could only be written to 0") || strings.Contains(m, "could only be replicated to 0"):
		return fmt.Errorf("no DataNode could take the block (DataNodes down or disks full): %w", err)
	}
	return err
}

func (s *Sink) hdfsErr(op, p string, err error) error {
	return fmt.Errorf("hdfs sink %s: %s %s: %w", s.name, op, p, s.explain(err))
}
