package spooldir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/runloop"
)

const (
	minBackoff  = 250 * time.Millisecond // first pause after the channels refused a batch (Flume's)
	setAsideFor = time.Minute            // how long an unreadable file is left alone
)

// Source is a running spooling directory source.
type Source struct {
	cfg      Config
	name     string
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	opts       desOptions
	in         charset
	policy     string
	order      string
	deleteNow  bool
	trackInDir bool
	include    *regexp.Regexp
	ignore     *regexp.Regexp
	dir        string
	trackerDir string
	metaPath   string

	// Owned by the run goroutine.
	cur      *current
	tr       *tracker
	resume   *trackerState
	setAside map[string]time.Time
	seen     map[string]seenFile
	warned   map[string]bool
	batch    batch

	skippedNames map[string]struct{} // names not matching includePattern, reported
	skipWindow   time.Time           // start of the minute skipLogged counts in
	skipLogged   int
	skipQuiet    int  // skipped names not reported this minute
	diskFull     bool // the position file could not be written for lack of space

	watcher *fsnotify.Watcher
	watched map[string]bool

	loop runloop.Loop // the run goroutine's start, wake-ups and stop
}

// current is the file being read.
type current struct {
	candidate
	des   deserializer
	ident fileIdent // the file as it was when picked up
	fresh bool      // reading started at its beginning in this pickup
	read  bool      // some events came out of it already
}

// seenFile is a file's size and time at an earlier scan, to tell when a
// file still being written has settled.
type seenFile struct {
	size  int64
	mtime time.Time
	at    time.Time
}

// New builds the source; nothing is touched until Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	log := env.Logger
	counters := env.SourceCounters
	opts, warns, _ := cfg.options()
	for _, w := range warns {
		log.Warn(w)
	}
	in, _ := lookupCharset(cfg.InputCharset)
	policy, _ := oneOf(cfg.DecodeErrorPolicy, "FAIL", "REPLACE", "IGNORE")
	order, _ := oneOf(cfg.ConsumeOrder, "oldest", "youngest", "random")
	del, _ := oneOf(cfg.DeletePolicy, "never", "immediate")
	track, _ := oneOf(cfg.TrackingPolicy, "rename", "tracker_dir")
	include, _ := fullMatch("includePattern", cfg.IncludePattern)
	ignore, _ := fullMatch("ignorePattern", cfg.IgnorePattern)
	dir := filepath.Clean(cfg.SpoolDir)
	trackerDir := cfg.TrackerDir
	if !filepath.IsAbs(trackerDir) {
		trackerDir = filepath.Join(dir, trackerDir)
	}
	return &Source{
		cfg: *cfg, name: env.Name, log: log, proc: env.Processor, counters: counters,
		opts: opts, in: in, policy: policy, order: order,
		deleteNow: del == "immediate", trackInDir: del == "never" && track == "tracker_dir",
		include: include, ignore: ignore, dir: dir, trackerDir: filepath.Clean(trackerDir),
		metaPath: filepath.Join(trackerDir, metaFileName),
	}, nil
}

// BatchSize is the configured batch size.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start prepares the directories, loads the position file and starts
// reading. It fails when the spool directory cannot be used.
func (s *Source) Start(context.Context) error {
	err := s.loop.Start(s.setup, s.run)
	if errors.Is(err, runloop.ErrStarted) {
		return errors.New("spooldir source already started")
	}
	return err
}

// setup does Start's work before the run goroutine begins.
func (s *Source) setup() error {
	if err := s.prepare(); err != nil {
		return fmt.Errorf("spooldir source %s: %w", s.name, err)
	}
	s.setAside, s.seen, s.warned = map[string]time.Time{}, map[string]seenFile{}, map[string]bool{}
	s.cur, s.tr, s.resume = nil, nil, nil
	s.watched = map[string]bool{}
	if w, err := fsnotify.NewWatcher(); err != nil {
		s.log.Warn("spooldir: file notifications unavailable; polling only", "err", err, "pollDelay", s.cfg.PollDelay)
	} else {
		s.watcher = w
		s.watchDir(s.dir)
		go s.forward(w)
	}
	switch st, err := loadTracker(s.metaPath); {
	case err == nil:
		s.resume = &st
	case !errors.Is(err, os.ErrNotExist):
		s.log.Warn("spooldir: position file unreadable; the file it tracked will be read from its start",
			"position_file", s.metaPath, "err", err)
		os.Remove(s.metaPath)
	}
	s.log.Info("spooldir source started", "spoolDir", s.dir, "trackerDir", s.trackerDir)
	return nil
}

// prepare checks (or creates) the spool and tracker directories and, when
// files are to be renamed or deleted, that the spool directory is writable.
func (s *Source) prepare() error {
	st, err := os.Stat(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return fmt.Errorf("spoolDir %q does not exist and cannot be created: %w", s.dir, err)
		}
		s.log.Warn("spooldir: spoolDir did not exist; created it", "spoolDir", s.dir)
	} else if err != nil {
		return fmt.Errorf("spoolDir %q: %w", s.dir, err)
	} else if !st.IsDir() {
		return fmt.Errorf("spoolDir %q is not a directory", s.dir)
	}
	if err := os.MkdirAll(s.trackerDir, 0o755); err != nil {
		return fmt.Errorf("trackerDir %q: %w", s.trackerDir, err)
	}
	if !s.trackInDir {
		// Completed files are renamed or deleted here: find out now
		// rather than after the first file.
		f, err := os.CreateTemp(s.dir, ".sluice-perm-check-*")
		if err != nil {
			return fmt.Errorf("spoolDir %q is not writable (completed files are renamed or deleted): %w", s.dir, err)
		}
		f.Close()
		if err := os.Remove(f.Name()); err != nil {
			return fmt.Errorf("spoolDir %q: cannot delete files: %w", s.dir, err)
		}
	}
	return nil
}

// watchDir asks for notifications about dir (once).
func (s *Source) watchDir(dir string) {
	if s.watcher == nil || s.watched[dir] {
		return
	}
	if err := s.watcher.Add(dir); err != nil {
		s.warnOnce("watch:"+dir, "spooldir: cannot watch a directory; polling it", "dir", dir, "err", err)
		return
	}
	s.watched[dir] = true
}

// forward turns file notifications into wake-ups of the reader.
func (s *Source) forward(w *fsnotify.Watcher) {
	for {
		select {
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			s.loop.Poke()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Debug("spooldir: file notification error", "err", err)
			s.loop.Poke()
		}
	}
}

// Stop stops reading. The batch being delivered may finish within ctx's
// deadline; a batch not delivered is read again after a restart.
func (s *Source) Stop(ctx context.Context) error {
	// Past the deadline the delivery in progress is abandoned; it was not
	// committed.
	ran, err := s.loop.Stop(ctx)
	if !ran {
		return nil
	}
	if err != nil {
		err = fmt.Errorf("spooldir source %s: stop deadline passed during a delivery: %w", s.name, err)
	}
	if s.watcher != nil {
		s.watcher.Close()
		s.watcher = nil
	}
	s.log.Info("spooldir source stopped")
	return err
}

// run reads files one after the other until Stop.
func (s *Source) run() {
	defer func() {
		if s.cur != nil {
			s.cur.des.close()
			s.cur = nil
		}
		if err := s.tr.close(); err != nil {
			s.log.Warn("spooldir: closing the position file", "err", err)
		}
		s.tr = nil
	}()
	for !s.loop.Stopping() {
		if s.cur == nil {
			s.cur = s.next()
			if s.cur == nil {
				select {
				case <-s.loop.StopC():
				case <-s.loop.Wake():
				case <-time.After(s.cfg.PollDelay):
				}
				continue
			}
		}
		s.step()
	}
}

// step reads and delivers one batch of the current file, and completes the
// file at its end.
func (s *Source) step() {
	c := s.cur
	s.batch.reset(s.cfg.BatchSize)
	err := c.des.next(&s.batch, s.cfg.BatchSize)
	events := s.batch.events
	if len(events) == 0 && err == nil && c.fresh && !c.read {
		// Flume delivers one empty event for a file with no content.
		s.batch.add(nil)
		events = s.batch.events
	}
	if len(events) > 0 {
		c.read = true
		s.annotate(events, c)
		if !s.deliver(events) {
			return // stopping: not committed, read again after a restart
		}
		switch terr := s.tr.store(c.des.pos()); {
		case terr == nil:
			s.spaceBack()
		case isNoSpace(terr):
			s.noSpace(terr)
		default:
			s.counters.GenericProcessingFail.Add(1)
			s.warnOnce("tracker", "spooldir: cannot record the read position; a restart may read a batch again",
				"position_file", s.metaPath, "err", terr)
		}
	}
	var ce *contentError
	switch {
	case errors.As(err, &ce):
		s.counters.EventReadFail.Add(1)
		s.drop(c)
		s.quarantine(c.path, fmt.Sprintf("cannot be read: %v; the events before it were delivered", ce))
	case err != nil:
		s.counters.EventReadFail.Add(1)
		s.drop(c)
		s.setAside[c.path] = time.Now().Add(setAsideFor)
		s.log.Error("spooldir: read failed; trying this file again later from the last delivered position",
			"file", c.path, "err", err, "retry_in", setAsideFor)
	case len(events) == 0:
		s.complete(c)
	}
}

// drop closes the current file without completing it; the position file
// stays, so the file resumes where it was.
func (s *Source) drop(c *current) {
	c.des.close()
	s.cur = nil
}

// annotate adds the file headers.
func (s *Source) annotate(events []*sluice.Event, c *current) {
	if !s.cfg.FileHeader && !s.cfg.BasenameHeader {
		return
	}
	abs, err := filepath.Abs(c.path)
	if err != nil {
		abs = c.path
	}
	for _, e := range events {
		if s.cfg.FileHeader {
			e.SetHeader(s.cfg.FileHeaderKey, abs)
		}
		if s.cfg.BasenameHeader {
			e.SetHeader(s.cfg.BasenameHeaderKey, c.name)
		}
	}
}

// deliver hands a batch to the channels, retrying with backoff while they
// refuse it. It returns false when the source stops first.
func (s *Source) deliver(events []*sluice.Event) bool {
	err := s.proc.ProcessRetry(s.loop.Context(), events, sluice.CallAppendBatch,
		sluice.Retry{First: minBackoff, Max: s.cfg.MaxBackoff, Stop: s.loop.StopC()})
	return err == nil
}

// warnOnce logs a warning the first time key comes up.
func (s *Source) warnOnce(key, msg string, args ...any) {
	if s.warned[key] {
		return
	}
	s.warned[key] = true
	s.log.Warn(msg, args...)
}

func statIdent(fi os.FileInfo) fileIdent {
	id := fileIdent{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), uint64(st.Ino)
	}
	return id
}

// quarantineName is the name a file is moved aside to.
func quarantineName(path string, now time.Time) string {
	base := path + ".QUARANTINED-" + now.UTC().Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// quarantine moves a file aside so that it is never read again, and says
// why. Other files go on being read.
func (s *Source) quarantine(path, reason string) {
	s.counters.GenericProcessingFail.Add(1)
	dest := quarantineName(path, time.Now())
	if err := os.Rename(path, dest); err != nil {
		s.setAside[path] = time.Now().Add(100 * 365 * 24 * time.Hour)
		s.log.Error("spooldir: file set aside, but it cannot be moved to its quarantine name; it will not be read again until a restart",
			"file", path, "reason", reason, "err", err)
		return
	}
	s.log.Error("spooldir: quarantined file "+path+": "+reason, "file", path, "moved_to", dest)
}
