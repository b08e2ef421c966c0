// Package fileroll is the file_roll sink: it writes events through a
// serializer to files in one local directory, starting a new file every
// rollInterval.
package fileroll

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sinks/serializer"
)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "file_roll",
		Aliases:   []string{"org.apache.flume.sink.RollingFileSink"},
		Stability: sluice.Beta,
		Doc: "Writes events to files in a local directory through an event serializer (one line per " +
			"event with the default TEXT serializer), closing the current file and starting a new one " +
			"every sink.rollInterval seconds. Files are flushed before every commit.",
		Notes:   notes,
		Factory: sluice.MakeFactory(defaults, New),
		Example: "a1.sinks = k1\n" +
			"a1.sinks.k1.type = file_roll\n" +
			"a1.sinks.k1.channel = c1\n" +
			"a1.sinks.k1.sink.directory = /var/log/sluice\n" +
			"a1.sinks.k1.sink.rollInterval = 3600\n" +
			"a1.sinks.k1.sink.serializer = header_and_text\n" +
			"a1.sinks.k1.sink.pathManager = ROLLTIME\n" +
			"a1.sinks.k1.sink.pathManager.prefix = events-\n" +
			"a1.sinks.k1.sink.pathManager.extension = log\n",
	})
}

const notes = `Differences from Flume's RollingFileSink:

- **No empty files.** A file is created when the first event for it arrives. Flume opens a file at
  start and after every roll, so an idle sink leaves an empty file every rollInterval.
- **The roll interval counts from when the file was opened**, and is checked on every call of the
  sink runner (at most a backoff period late). Flume flips a flag on a fixed schedule from start.
  Besides whole seconds, sink.rollInterval accepts a duration such as ` + "`500ms`" + `; a negative
  value is an error (Flume treats it as 0, never roll).
- **Existing files are never overwritten.** If the next name is taken, the number is increased until
  a free name is found. Flume truncates such a file (possible with ROLLTIME after a quick restart).
- **The directory is created at start** if it does not exist; start fails if it cannot be. Flume
  fails every batch until someone creates it. If the file or its directory is deleted while the
  sink writes (an unlinked file still takes writes, and they would vanish), the batch fails before
  its commit and stays in the channel, and the directory is created again for the next file.
- **A failed batch is cut off.** On a write, flush or commit failure the file is truncated back to
  the end of the last committed batch and closed, and the retry goes to a new file, so the file
  does not hold a partial or duplicated batch (Flume leaves the partial write in place).
- **A full disk** fails the batch the same way (cut off, back in the channel), with an error
  naming the directory and its free space ("no space left on device (disk full: 0 KiB free in
  DIR; the batch stays in the channel until space is freed)"), logged once per outage; the
  channel fills and its sources push back, and delivery resumes by itself when space returns
  (the reliability suite's fileroll-disk-full and fileroll-dir-deleted: lost 0).
- **sink.fsync** (Sluice extension, default false, like Flume): also fsync the file before each
  commit and on close, so committed events survive a machine crash, not just a process crash.
- sink.pathManager takes DEFAULT or ROLLTIME; Java builder class names are not supported. ROLLTIME
  stamps use the agent's local time zone, as Flume does.
`

// Sink is the file_roll sink. The runner calls Process from one goroutine;
// Stop may come from another, so the file state is guarded by lock (a
// one-slot channel, so Stop can give up at its deadline).
type Sink struct {
	cfg   Config
	name  string
	log   *slog.Logger
	c     *sluice.SinkCounters
	build serializer.Builder
	now   func() time.Time
	paths pathManager

	lock    chan struct{}
	stopped bool
	file    *openFile
	pending int64 // events written by the last Deliver, not yet settled
}

// openFile is the file being written.
type openFile struct {
	path      string
	f         *os.File
	cw        countingWriter
	bw        *bufio.Writer
	ser       serializer.Serializer
	opened    time.Time
	committed int64 // file size at the last commit
	events    int64 // events committed into this file
}

// countingWriter counts the bytes that reached the file, so a failed batch
// can be truncated away without asking the OS for the file size.
type countingWriter struct {
	f *os.File
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.n += int64(n)
	return n, err
}

const bufSize = 64 << 10

// New builds a file_roll sink. It resolves the serializer but touches no files.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	kind, _ := parsePathManager(cfg.PathManager)
	b, err := serializer.New(env, "sink.serializer", cfg.Serializer, cfg.SerializerProps)
	if err != nil {
		return nil, err
	}
	return &Sink{
		cfg: *cfg, name: env.Name, log: env.Logger, c: env.SinkCounters, build: b,
		now:   time.Now,
		paths: pathManager{kind: kind, prefix: cfg.Prefix, ext: cfg.Extension, loc: time.Local},
		lock:  make(chan struct{}, 1),
	}, nil
}

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

// Start creates the directory if needed and starts a new file series.
func (s *Sink) Start(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return fmt.Errorf("file_roll sink %s: start: %w", s.name, err)
	}
	defer s.release()
	if err := os.MkdirAll(s.cfg.Directory, 0o755); err != nil {
		return fmt.Errorf("file_roll sink %s: sink.directory %q: %w", s.name, s.cfg.Directory, err)
	}
	s.paths.reset(s.now())
	s.stopped = false
	s.log.Info("file_roll sink started", "sink", s.name, "directory", s.cfg.Directory)
	return nil
}

// Stop flushes and closes the current file. It is idempotent and safe
// without Start.
func (s *Sink) Stop(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return fmt.Errorf("file_roll sink %s: stop: %w", s.name, err)
	}
	defer s.release()
	if s.stopped {
		return nil
	}
	s.stopped = true
	return s.closeFile()
}

// Deliver rolls the file when it is due, then writes and flushes the batch;
// the core commits after it. A failed write cuts the batch off the file.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.stopped {
		return fmt.Errorf("file_roll sink %s: %w", s.name, sluice.ErrClosed)
	}
	if err := s.rollIfDue(); err != nil {
		return err
	}
	if s.file == nil {
		if err := s.openFile(); err != nil {
			s.c.ConnectionFailed.Add(1)
			return err
		}
	}
	f := s.file
	if err := s.write(f, events); err != nil {
		s.abandon()
		return fmt.Errorf("file_roll sink %s: write %s: %w", s.name, f.path, withFree(s.cfg.Directory, err))
	}
	// A file whose directory was deleted under us still takes writes, and
	// they vanish with it: check it is still there before the commit.
	if gone, err := unlinked(f.f); gone || err != nil {
		s.abandon()
		if err != nil {
			return fmt.Errorf("file_roll sink %s: stat %s: %w", s.name, f.path, err)
		}
		return fmt.Errorf("file_roll sink %s: %s was deleted (or its directory) while being written; the batch stays in the channel and goes to a new file", s.name, f.path)
	}
	s.pending = int64(len(events))
	return nil
}

// unlinked reports whether an open file has no name left on disk.
func unlinked(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Nlink == 0, nil
	}
	return false, nil
}

// Settled records a committed batch as part of the file, or takes a batch
// the channel rolled back out of it again (sluice.Settler).
func (s *Sink) Settled(ctx context.Context, committed bool) {
	if err := s.acquire(ctx); err != nil {
		return
	}
	defer s.release()
	f := s.file
	if f == nil {
		return
	}
	if !committed {
		// The events go back to the channel: take them out of the file too.
		s.abandon()
		return
	}
	f.committed = f.cw.n
	f.events += s.pending
	s.pending = 0
}

// Idle rolls the file when its interval passed while nothing came
// (sluice.Idler).
func (s *Sink) Idle(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	if s.stopped {
		return nil
	}
	return s.rollIfDue()
}

// rollIfDue closes the current file once sink.rollInterval has passed.
// Everything in it is committed: a failed close loses nothing, and the
// next batch goes to a new file either way.
func (s *Sink) rollIfDue() error {
	if f := s.file; f != nil && s.cfg.RollInterval > 0 && !s.now().Before(f.opened.Add(s.cfg.RollInterval)) {
		return s.closeFile()
	}
	return nil
}

// write serializes a batch and pushes it to the file (and to the disk with
// sink.fsync), so that a commit after it acknowledges only stored events.
func (s *Sink) write(f *openFile, events []*sluice.Event) error {
	for _, e := range events {
		if err := f.ser.Write(e); err != nil {
			return err
		}
	}
	if err := f.ser.Flush(); err != nil {
		return err
	}
	if err := f.bw.Flush(); err != nil {
		return err
	}
	if s.cfg.Fsync {
		return f.f.Sync()
	}
	return nil
}

// maxNameTries bounds the search for a free name when files already exist.
const maxNameTries = 10000

// openFile creates the next file of the series and writes the serializer's header.
func (s *Sink) openFile() error {
	dir := s.cfg.Directory
	now := s.now()
	var (
		path string
		fh   *os.File
		err  error
	)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("file_roll sink %s: sink.directory %q is gone and cannot be created again: %w", s.name, dir, err)
		}
		s.log.Warn("file_roll sink: sink.directory had disappeared; created it again", "directory", dir)
	}
	for try := 0; ; try++ {
		path = filepath.Join(dir, s.paths.next(now))
		// O_EXCL: never truncate a file written before (Flume would).
		fh, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try >= maxNameTries {
			return fmt.Errorf("file_roll sink %s: cannot create a file in sink.directory %q: %w", s.name, dir, withFree(dir, err))
		}
	}
	f := &openFile{path: path, f: fh, opened: now}
	f.cw.f = fh
	f.bw = bufio.NewWriterSize(&f.cw, bufSize)
	fail := func(err error) error {
		_ = fh.Close()
		_ = os.Remove(path)
		return fmt.Errorf("file_roll sink %s: start file %s: %w", s.name, path, withFree(dir, err))
	}
	if s.cfg.Fsync {
		// Make the new directory entry durable too.
		if err := syncDir(dir); err != nil {
			return fail(err)
		}
	}
	if f.ser, err = s.build(f.bw); err != nil {
		return fail(err)
	}
	if err := f.ser.AfterCreate(); err != nil {
		return fail(err)
	}
	s.file = f
	s.c.ConnectionCreated.Add(1)
	s.log.Debug("file_roll sink opened file", "sink", s.name, "file", path)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// closeFile writes the serializer's trailer, flushes and closes the current
// file. The file is forgotten even when this fails.
func (s *Sink) closeFile() error {
	f := s.file
	if f == nil {
		return nil
	}
	s.file = nil
	err := f.ser.Flush()
	if err == nil {
		err = f.ser.BeforeClose()
	}
	if err == nil {
		err = f.bw.Flush()
	}
	if err == nil && s.cfg.Fsync {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.c.ConnectionFailed.Add(1)
		return fmt.Errorf("file_roll sink %s: close %s: %w", s.name, f.path, err)
	}
	s.c.ConnectionClosed.Add(1)
	s.log.Debug("file_roll sink closed file", "sink", s.name, "file", f.path, "events", f.events)
	return nil
}

// abandon gives up the current file after a failed batch: whatever of the
// batch reached the file is truncated away (the events are back in the
// channel), and the file is closed so the retry starts a fresh one with a
// fresh serializer. A file that never got a committed event is removed.
func (s *Sink) abandon() {
	f := s.file
	if f == nil {
		return
	}
	s.file = nil
	if err := f.f.Truncate(f.committed); err != nil {
		s.log.Warn("file_roll sink could not cut a failed batch off its file; those events will be written again",
			"sink", s.name, "file", f.path, "error", err)
	}
	_ = f.f.Close()
	if f.events == 0 {
		_ = os.Remove(f.path)
	}
	s.c.ConnectionClosed.Add(1)
}

// BatchSize is the most events one Process call takes (sluice.Batcher), so
// the agent can refuse a batch larger than the channel's transactionCapacity.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }
