package taildir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/runloop"
)

// Retry pauses for a batch the channels refused (Flume's, not configurable
// there either); variables so tests need not wait seconds.
var (
	retryFirst = time.Second
	retryMax   = 5 * time.Second
)

// Source is a running taildir source.
type Source struct {
	cfg      Config
	name     string
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters
	groups   []*group
	posPath  string
	maxBatch int64

	// Owned by the run goroutine.
	files     map[fileKey]*tailFile
	loaded    map[uint64]posEntry // position file entries not yet matched
	listings  map[string]*listing
	batch     batch
	dirty     bool
	lastWrite time.Time
	more      bool // a file stopped at maxBatchCount with lines left
	warned    map[string]bool

	watcher *fsnotify.Watcher
	watched map[string]bool
	changed chan string // directories whose entries changed

	loop runloop.Loop // the run goroutine's start, wake-ups and stop
}

// listing caches the matching names of a directory (cachePatternMatching).
type listing struct {
	mtime   time.Time
	checked time.Time
	names   []string
	stale   bool
}

// New builds the source; nothing is touched until Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	log := env.Logger
	counters := env.SourceCounters
	groups, _ := cfg.groups()
	posPath, err := cfg.positionPath()
	if err != nil {
		return nil, fmt.Errorf("taildir source %s: %w", env.Name, err)
	}
	for _, w := range cfg.unusedKeys() {
		log.Warn("taildir: " + w)
	}
	if cfg.MaxBatchCount <= 0 {
		log.Warn("taildir: maxBatchCount is not positive; no limit", "maxBatchCount", cfg.MaxBatchCount)
	}
	return &Source{cfg: *cfg, name: env.Name, log: log, proc: env.Processor,
		counters: counters, groups: groups, posPath: posPath, maxBatch: cfg.maxBatches()}, nil
}

// BatchSize is the configured batch size.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start loads the position file and starts following the files. It fails
// when the position file cannot be read or written.
func (s *Source) Start(context.Context) error {
	err := s.loop.Start(s.setup, s.run)
	if errors.Is(err, runloop.ErrStarted) {
		return errors.New("taildir source already started")
	}
	return err
}

// setup does Start's work before the run goroutine begins.
func (s *Source) setup() error {
	if err := checkWritable(s.posPath); err != nil {
		return fmt.Errorf("taildir source %s: positionFile: %w", s.name, err)
	}
	entries, err := loadPositions(s.posPath)
	if err != nil {
		// Flume logs this and starts every file afresh; so does Sluice,
		// keeping the bad file for inspection.
		s.log.Error("taildir: position file unreadable; files start from the beginning (or the end with skipToEnd)",
			"position_file", s.posPath, "err", err)
		os.Rename(s.posPath, s.posPath+".unreadable")
		entries = nil
	}
	s.loaded = map[uint64]posEntry{}
	for _, e := range entries {
		s.loaded[e.Inode] = e
	}
	s.files, s.listings, s.warned = map[fileKey]*tailFile{}, map[string]*listing{}, map[string]bool{}
	s.dirty, s.more = false, false
	s.changed = make(chan string, 64)
	s.watched = map[string]bool{}
	if w, err := fsnotify.NewWatcher(); err != nil {
		s.log.Warn("taildir: file notifications unavailable; polling only", "err", err)
	} else {
		s.watcher = w
		go s.forward(w)
	}
	for _, g := range s.groups {
		if fi, err := os.Stat(g.dir); err != nil || !fi.IsDir() {
			s.log.Warn("taildir: the directory of a file group does not exist (yet); looking for it on every poll",
				"group", g.name, "dir", g.dir)
		}
	}
	s.log.Info("taildir source started", "groups", len(s.groups), "position_file", s.posPath)
	return nil
}

// forward turns notifications into wake-ups, and tells which directories'
// entries changed so their cached listing is redone.
func (s *Source) forward(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				select {
				case s.changed <- filepath.Dir(ev.Name):
				default: // full: every listing is redone (see markStale)
					select {
					case s.changed <- "":
					default:
					}
				}
			}
			s.loop.Poke()
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			select {
			case s.changed <- "":
			default:
			}
			s.loop.Poke()
		}
	}
}

// Stop stops reading, writes the position file and closes the files.
func (s *Source) Stop(ctx context.Context) error {
	ran, err := s.loop.Stop(ctx)
	if !ran {
		return nil
	}
	if err != nil {
		err = fmt.Errorf("taildir source %s: stop deadline passed during a delivery: %w", s.name, err)
	}
	if s.watcher != nil {
		s.watcher.Close()
		s.watcher = nil
	}
	s.log.Info("taildir source stopped")
	return err
}

func (s *Source) run() {
	defer func() {
		s.savePositions(true)
		for _, t := range s.files {
			t.close()
		}
	}()
	s.update(true)
	s.takeOverOrphans()
	idle := 0
	for !s.loop.Stopping() {
		delivered, ok := s.readAll()
		if !ok {
			return
		}
		s.closeIdle()
		s.savePositions(false)
		if s.more {
			continue
		}
		var wait time.Duration
		if delivered == 0 {
			idle++
			wait = min(time.Duration(idle)*s.cfg.BackoffSleepIncrement, s.cfg.MaxBackoffSleep)
		} else {
			idle = 0
		}
		if wait > 0 {
			t := time.NewTimer(min(wait, s.cfg.WritePosInterval))
			select {
			case <-s.loop.StopC():
			case <-s.loop.Wake():
			case <-t.C:
			}
			t.Stop()
		}
		if !s.loop.Stopping() {
			s.update(false)
		}
	}
}

// readAll reads every open file that has new lines, oldest first. It
// returns the events delivered, and false when stopping.
func (s *Source) readAll() (int, bool) {
	s.more = false
	open := make([]*tailFile, 0, len(s.files))
	for _, t := range s.files {
		if t.f != nil {
			open = append(open, t)
		}
	}
	// Oldest first, as Flume; a rotated-away file before the one that
	// replaced it even when the clock could not tell them apart.
	sort.Slice(open, func(i, j int) bool {
		if open[i].orphan != open[j].orphan {
			return open[i].orphan
		}
		if !open[i].mtime.Equal(open[j].mtime) {
			return open[i].mtime.Before(open[j].mtime)
		}
		return open[i].path < open[j].path
	})
	total := 0
	for _, t := range open {
		n, ok := s.tail(t, false)
		total += n
		if !ok {
			return total, false
		}
	}
	return total, true
}

// tail delivers the new lines of one file, batch by batch, up to
// maxBatchCount batches.
func (s *Source) tail(t *tailFile, flush bool) (int, bool) {
	total := 0
	for batches := int64(0); ; {
		s.batch.reset(s.cfg.BatchSize)
		n, err := t.lines(&s.batch, s.cfg.BatchSize, flush, s.headerFunc(t))
		if n > 0 {
			if !s.deliver(s.batch.events) {
				return total, false
			}
			t.pos = t.cons
			t.active = time.Now()
			s.dirty = true
			total += n
			// On the timer, also in the middle of a long file: a kill -9
			// then re-reads at most writePosInterval's worth.
			s.savePositions(false)
		}
		if errors.Is(err, errRewritten) {
			s.restart(t, "the bytes before its position changed (truncated and written again, as copytruncate does)")
			continue
		}
		if err != nil {
			s.counters.EventReadFail.Add(1)
			s.log.Error("taildir: read failed; closing the file, it is opened again on the next poll",
				"file", t.path, "err", err)
			t.close()
			return total, true
		}
		if n < s.cfg.BatchSize {
			return total, true
		}
		if batches++; batches >= s.maxBatch {
			s.more = true
			return total, true
		}
	}
}

// restart reads a file again from its start.
func (s *Source) restart(t *tailFile, why string) {
	s.log.Warn("taildir: file "+t.path+" "+why+"; reading it again from the start",
		"file", t.path, "inode", t.key.ino, "old_pos", t.pos)
	t.seek(0)
	s.dirty = true
}

// headerFunc returns what adds a file's headers to an event.
func (s *Source) headerFunc(t *tailFile) func(e *sluice.Event, off int64) {
	g := t.group
	if len(g.headers) == 0 && !s.cfg.ByteOffsetHeader && !s.cfg.FileHeader {
		return func(*sluice.Event, int64) {}
	}
	return func(e *sluice.Event, off int64) {
		e.Headers = make(map[string]string, len(g.headers)+2)
		for k, v := range g.headers {
			e.Headers[k] = v
		}
		if s.cfg.ByteOffsetHeader {
			e.Headers["byteoffset"] = formatOffset(off)
		}
		if s.cfg.FileHeader {
			e.Headers[s.cfg.FileHeaderKey] = t.path
		}
	}
}

// deliver hands a batch to the channels, retrying while they refuse it
// (1 s, doubling up to 5 s, as Flume). False when stopping first.
func (s *Source) deliver(events []*sluice.Event) bool {
	err := s.proc.ProcessRetry(s.loop.Context(), events, sluice.CallAppendBatch, sluice.Retry{
		First: retryFirst, Max: retryMax,
		// What was committed before the stall is recorded while it
		// lasts, as Flume's position writer does on its own timer.
		Waiting: func() { s.savePositions(false) },
		Stop:    s.loop.StopC(),
	})
	return err == nil
}

// closeIdle closes files not written to for idleTimeout, delivering their
// last line even without a newline (as Flume does). A file that no longer
// matches its group is then forgotten.
func (s *Source) closeIdle() {
	now := time.Now()
	for k, t := range s.files {
		if t.f == nil || now.Sub(t.active) < s.cfg.IdleTimeout {
			continue
		}
		if _, ok := s.tail(t, true); !ok {
			return
		}
		if t.cons != t.pos {
			continue // not delivered: try again later
		}
		t.close()
		t.active = now
		s.log.Info("taildir: closed idle file", "file", t.path, "inode", t.key.ino, "pos", t.pos)
		if t.orphan {
			delete(s.files, k)
			s.dirty = true
		}
	}
}

// savePositions writes the position file every writePosInterval when
// something changed, and at stop.
func (s *Source) savePositions(final bool) {
	if !s.dirty || (!final && time.Since(s.lastWrite) < s.cfg.WritePosInterval) {
		return
	}
	entries := make([]posEntry, 0, len(s.files))
	for _, t := range s.files {
		entries = append(entries, posEntry{Inode: t.key.ino, Pos: t.pos, File: t.path})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].File < entries[j].File })
	if err := writePositions(s.posPath, entries); err != nil {
		s.counters.GenericProcessingFail.Add(1)
		s.warnOnce("posfile", "taildir: cannot write the position file; a restart would read lines again",
			"position_file", s.posPath, "err", err)
		return
	}
	s.dirty, s.lastWrite = false, time.Now()
}

func (s *Source) warnOnce(key, msg string, args ...any) {
	if s.warned[key] {
		return
	}
	s.warned[key] = true
	s.log.Warn(msg, args...)
}
