// Package file is Flume's file channel: a durable queue whose committed
// puts survive a crash of the agent or of the machine. Events go to a
// write-ahead log (internal/wal) with group commit; the queue in memory
// holds pointers into the log, and a periodic checkpoint saves replaying
// the whole log at start-up.
package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// takeSyncEvery bounds how long a committed take may stay unsynced: a
// take commit returns once its record is written (so a process crash
// cannot bring the events back), and a power loss can bring back at most
// the takes of this last stretch.
const takeSyncEvery = time.Second

// ckptEveryBytes triggers a checkpoint before checkpointInterval when this
// much was logged since the last one: it bounds replay work and lets
// segments be deleted sooner under heavy load.
const ckptEveryBytes = 512 << 20

// defaultCacheBytes bounds the events kept in memory next to their log
// pointers; takes of other events read them back from the log.
const defaultCacheBytes = 64 << 20

// Channel is a file channel.
type Channel struct {
	name string
	log  *slog.Logger
	cnt  *sluice.ChannelCounters
	cfg  Config

	// freeFn measures a directory's free bytes; tests replace it.
	freeFn     atomic.Pointer[func(dir string) (uint64, error)]
	space      spaceNotes
	ckptShared []string // checkpoint dirs on a data dir's file system (set at Start)
	cacheLimit int64

	putErr, takeErr, ckptErr, ckptBackupErr *atomic.Int64
	open, unhealthy                         atomic.Bool

	life     sync.Mutex // Start and Stop
	started  bool
	stopped  atomic.Bool
	dirs     []string // expanded data dirs
	ckptDir  string
	backup   string // "" without dual checkpoints
	locks    []*os.File
	writers  []*wal.Writer
	nextTxn  atomic.Uint64
	nextSeg  atomic.Uint32
	rr       atomic.Uint32
	logged   atomic.Int64 // bytes logged since the last checkpoint
	changed  atomic.Bool  // anything committed since the last checkpoint
	ckptKick chan struct{}
	ckptStop chan struct{}
	ckptDone chan struct{}
	ckptMu   sync.Mutex // one checkpoint at a time

	// gate: a commit holds it shared from handing its records to a writer
	// until it has applied them to the queue; a checkpoint holds it
	// exclusively for the moment it snapshots queue and log positions, so
	// the two agree.
	gate sync.RWMutex

	mu        sync.Mutex
	q         ring
	inflight  int // taken by open transactions: still occupies capacity
	reserved  int // room held by put commits being logged
	openTakes map[*txn]struct{}
	segs      map[uint32]*segment
	ckptPos   []wal.Position // per data dir, of the last durable checkpoint; nil before one
	cached    int64
	failure   error // damage found while reading back: the channel stops
	ready     chan struct{}
	room      chan struct{}

	files fileCache
}

var (
	_ sluice.Channel      = (*Channel)(nil)
	_ sluice.Notifier     = (*Channel)(nil)
	_ sluice.Sized        = (*Channel)(nil)
	_ sluice.TxnCapacitor = (*Channel)(nil)
)

// New builds a file channel. It touches no file: Start does.
func New(env sluice.Env, cfg *Config) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cnt := env.ChannelCounters
	if cnt == nil {
		cnt = sluice.NewChannelCounters()
	}
	c := &Channel{
		name:          env.Name,
		log:           log,
		cnt:           cnt,
		cfg:           *cfg,
		ckptKick:      make(chan struct{}, 1), // kept across restarts: writers may kick before Start ends
		cacheLimit:    defaultCacheBytes,
		putErr:        cnt.Get("EventPutErrorCount"),
		takeErr:       cnt.Get("EventTakeErrorCount"),
		ckptErr:       cnt.Get("CheckpointWriteErrorCount"),
		ckptBackupErr: cnt.Get("CheckpointBackupWriteErrorCount"),
	}
	c.setFreeSpace(wal.FreeSpace)
	cnt.SetSizer(c)
	cnt.Gauge("Open", func() string { return fmt.Sprint(c.open.Load()) })
	cnt.Gauge("Closed", func() string { return boolInt(!c.open.Load()) })
	cnt.Gauge("Unhealthy", func() string { return boolInt(c.unhealthy.Load()) })
	c.warnIgnored()
	return c, nil
}

func boolInt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (c *Channel) warnIgnored() {
	if c.cfg.UseFastReplay {
		c.log.Info("file channel: use-fast-replay has no effect; replay always uses the checkpoint and the log after it")
	}
	if c.cfg.UseLogReplayV1 {
		c.log.Warn("file channel: use-log-replay-v1 has no effect")
	}
	if c.cfg.CompressBackup {
		c.log.Warn("file channel: compressBackupCheckpoint is not supported; the backup checkpoint is written uncompressed")
	}
	if !c.cfg.FsyncPerTransaction {
		c.log.Warn("file channel: fsyncPerTransaction is false: commits return before their data is on disk, and a power loss can lose up to fsyncInterval of committed events",
			"fsyncInterval", c.cfg.FsyncInterval)
	}
}

// Start locks the directories, recovers the queue from the checkpoint and
// the log, and opens a fresh segment in every data directory.
func (c *Channel) Start(ctx context.Context) error {
	c.life.Lock()
	defer c.life.Unlock()
	if c.started {
		return nil
	}
	begin := time.Now()
	if err := c.openDirs(); err != nil {
		c.unhealthy.Store(true)
		c.release()
		return fmt.Errorf("file channel %s: %w", c.name, err)
	}
	st, err := c.recover()
	if err != nil {
		c.unhealthy.Store(true)
		c.release()
		return fmt.Errorf("file channel %s: %w", c.name, err)
	}
	c.stopped.Store(false)
	c.unhealthy.Store(false)
	c.open.Store(true)
	c.started = true
	c.log.Info("file channel started", "events", st.events, "from_checkpoint", st.fromCkpt,
		"replayed_frames", st.frames, "replayed_bytes", st.bytes, "checkpoint", st.source, "took", time.Since(begin).Round(time.Millisecond))
	// Save the replay's work at once; segments are deleted only on the
	// strength of checkpoints this run wrote (the backup of an older
	// one may still need them).
	if err := c.checkpoint(); err != nil {
		c.log.Warn("file channel: checkpoint after replay failed; will retry", "err", err)
	}
	c.ckptStop, c.ckptDone = make(chan struct{}), make(chan struct{})
	go c.checkpointLoop(c.ckptKick, c.ckptStop, c.ckptDone)
	c.cnt.Started()
	return nil
}

// openDirs creates and locks every directory.
func (c *Channel) openDirs() error {
	var err error
	if c.ckptDir, err = expandHome(c.cfg.CheckpointDir); err != nil {
		return err
	}
	c.backup = ""
	if c.cfg.UseDualCheckpoints {
		if c.backup, err = expandHome(c.cfg.BackupCheckpointDir); err != nil {
			return err
		}
	}
	c.dirs = c.dirs[:0]
	for _, d := range c.cfg.DataDirs {
		p, err := expandHome(d)
		if err != nil {
			return err
		}
		c.dirs = append(c.dirs, p)
	}
	all := append([]string{c.ckptDir}, c.dirs...)
	if c.backup != "" {
		all = append(all, c.backup)
	}
	for _, d := range all {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
		f, err := wal.Lock(d)
		if err != nil {
			return err
		}
		c.locks = append(c.locks, f)
	}
	return nil
}

// release closes writers, read handles and locks after a failed start or
// at stop.
func (c *Channel) release() {
	for _, w := range c.writers {
		if err := w.Close(); err != nil {
			c.log.Debug("file channel: writer closed with error", "dir", w.Dir(), "err", err)
		}
	}
	c.writers = nil
	c.files.closeAll()
	for _, f := range c.locks {
		f.Close()
	}
	c.locks = nil
}

// Stop refuses new commits, waits for those in flight, writes a final
// checkpoint (checkpointOnClose) and releases the directories. Everything
// committed stays on disk for the next start.
func (c *Channel) Stop(ctx context.Context) error {
	c.life.Lock()
	defer c.life.Unlock()
	if !c.started {
		return nil
	}
	c.stopped.Store(true)
	c.mu.Lock()
	c.wakeRoom()
	c.mu.Unlock()
	close(c.ckptStop)
	<-c.ckptDone
	var err error
	if c.cfg.CheckpointOnClose && c.failureErr() == nil {
		if err = c.checkpoint(); err != nil {
			err = fmt.Errorf("file channel %s: checkpoint on close: %w", c.name, err)
		}
	}
	c.gate.Lock() // no commit is between its log write and the queue
	c.release()
	c.gate.Unlock()
	c.open.Store(false)
	c.started = false
	c.cnt.Stopped()
	return err
}

// Begin opens a transaction.
func (c *Channel) Begin() sluice.Transaction { return &txn{c: c} }

// Size is the number of queued events (not counting events taken by open
// transactions), as Flume's ChannelSize reports.
func (c *Channel) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.q.n)
}

// Capacity is the configured capacity.
func (c *Channel) Capacity() int64 { return int64(c.cfg.Capacity) }

// TransactionCapacity is the most events one transaction may put or take.
func (c *Channel) TransactionCapacity() int { return c.cfg.TransactionCapacity }

// Ready returns a channel closed at the next commit of puts.
func (c *Channel) Ready() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{})
	}
	return c.ready
}

// wakeRoom wakes commits waiting for room. Called with mu held.
func (c *Channel) wakeRoom() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

func (c *Channel) closedErr() error {
	return fmt.Errorf("channel %s: stopped: %w", c.name, sluice.ErrClosed)
}

func (c *Channel) failureErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failure
}

// fail stops the channel for good after damage to durable data.
func (c *Channel) fail(err error) error {
	c.mu.Lock()
	if c.failure == nil {
		c.failure = fmt.Errorf("file channel %s stopped: %w", c.name, err)
		c.log.Error("file channel stopped: damaged log data; the error says where, and how to salvage every intact event", "err", err)
	}
	err = c.failure
	c.mu.Unlock()
	c.unhealthy.Store(true)
	return err
}

// checkpointLoop writes a checkpoint every checkpointInterval when
// something changed, or sooner when much was logged.
func (c *Channel) checkpointLoop(kick, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(c.cfg.CheckpointInterval)
	defer t.Stop()
	var failing time.Time // last failure logged; zero while checkpoints succeed
	failures := 0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-kick:
		}
		if !c.changed.Load() {
			continue
		}
		err := c.checkpoint()
		switch {
		case err != nil:
			// Once per episode and then once a minute: a full disk
			// fails every checkpoint until space is freed.
			failures++
			if time.Since(failing) >= spaceWarnEvery {
				failing = time.Now()
				c.log.Error("file channel: checkpoint failed; the log keeps everything, replay will be longer, and used-up segments stay until one succeeds",
					"err", err, "failures", failures)
			}
		case failures > 0:
			c.log.Info("file channel: checkpoint written again", "after_failures", failures)
			failing, failures = time.Time{}, 0
		}
	}
}

// checkpoint snapshots the queue and log positions, makes the log durable
// up to them, writes the checkpoint (and its backup), then deletes
// segments nothing needs any more.
func (c *Channel) checkpoint() error {
	c.ckptMu.Lock()
	defer c.ckptMu.Unlock()
	c.changed.Store(false)
	c.logged.Store(0)

	c.gate.Lock()
	c.mu.Lock()
	ck := &checkpoint{refs: map[uint32][]uint32{}}
	ck.entries = make([]ckEntry, 0, c.q.n+c.inflight)
	for t := range c.openTakes {
		for _, e := range t.takes {
			ck.entries = append(ck.entries, ckEntry{ptr: e.ptr, size: e.size})
		}
	}
	c.q.each(func(e *entry) { ck.entries = append(ck.entries, ckEntry{ptr: e.ptr, size: e.size}) })
	for id, s := range c.segs {
		if len(s.refs) > 0 {
			ck.refs[id] = append([]uint32(nil), s.refs...)
		}
	}
	c.mu.Unlock()
	for _, w := range c.writers {
		ck.positions = append(ck.positions, w.Position())
	}
	ck.nextTxn, ck.nextSeg = c.nextTxn.Load(), c.nextSeg.Load()
	c.gate.Unlock()

	for _, w := range c.writers {
		if err := w.Sync(); err != nil {
			c.ckptErr.Add(1)
			return fmt.Errorf("sync log in %s: %w", w.Dir(), err)
		}
	}
	data := ck.encode()
	if err := writeCheckpoint(c.ckptDir, data); err != nil {
		c.ckptErr.Add(1)
		c.changed.Store(true)
		return fmt.Errorf("write checkpoint in %s: %w", c.ckptDir, err)
	}
	if c.backup != "" {
		if err := writeCheckpoint(c.backup, data); err != nil {
			c.ckptBackupErr.Add(1)
			c.changed.Store(true)
			// The backup is older than the checkpoint now: keep the
			// segments it needs.
			return fmt.Errorf("write backup checkpoint in %s: %w", c.backup, err)
		}
	}
	c.mu.Lock()
	c.ckptPos = ck.positions
	c.mu.Unlock()
	c.deleteSegments()
	return nil
}

// noteLogged counts bytes logged and asks for an early checkpoint when
// there are many.
func (c *Channel) noteLogged(n int) {
	c.changed.Store(true)
	if c.logged.Add(int64(n)) >= ckptEveryBytes {
		select {
		case c.ckptKick <- struct{}{}:
		default:
		}
	}
}

// checkDiskSpace refuses puts while dir has too little free space.
func (c *Channel) checkDiskSpace(dir string) error {
	free, err := c.free(dir)
	if err != nil {
		return fmt.Errorf("channel %s: cannot measure free space in %s: %w", c.name, dir, err)
	}
	if need := c.cfg.requiredSpace(); free < need {
		c.lowSpace(dir, "minimumRequiredSpace", free, need)
		return fmt.Errorf("channel %s: refusing puts: %s has %d MiB free, less than minimumRequiredSpace (%d MiB): %w: %w",
			c.name, dir, free>>20, need>>20, ErrDiskSpace, sluice.ErrChannelFull)
	}
	c.okSpace(dir, free)
	return nil
}

// ErrDiskSpace is wrapped by put commits refused for lack of free space.
var ErrDiskSpace = errors.New("not enough free disk space")

// fileCache keeps one read handle per segment, for takes reading events
// back.
type fileCache struct {
	mu sync.RWMutex
	m  map[uint32]*os.File
}

func (fc *fileCache) get(id uint32, path string) (*os.File, error) {
	fc.mu.RLock()
	f := fc.m[id]
	fc.mu.RUnlock()
	if f != nil {
		return f, nil
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if f = fc.m[id]; f != nil {
		return f, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fc.m == nil {
		fc.m = map[uint32]*os.File{}
	}
	fc.m[id] = f
	return f, nil
}

func (fc *fileCache) drop(id uint32) {
	fc.mu.Lock()
	if f := fc.m[id]; f != nil {
		f.Close()
		delete(fc.m, id)
	}
	fc.mu.Unlock()
}

func (fc *fileCache) closeAll() {
	fc.mu.Lock()
	for id, f := range fc.m {
		f.Close()
		delete(fc.m, id)
	}
	fc.mu.Unlock()
}

func segPath(dir string, id uint32) string { return filepath.Join(dir, wal.SegmentName(id)) }
