package file

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// spaceWarnEvery bounds how often the channel repeats that a directory has
// no room for a new segment, when space comes and goes.
const spaceWarnEvery = time.Minute

// keepFree is what new segments leave free on their file system: room for
// a checkpoint written there, and for the put refusal to come first.
const keepFree = floorRequiredSpace

// spaceNotes keeps the disk-space log lines to one per episode.
type spaceNotes struct {
	mu     sync.Mutex
	low    map[string]bool      // below minimumRequiredSpace; true when that was said
	lowAt  map[string]time.Time // when it was last said
	short  map[string]time.Time // no room for a segment: when last warned
	warned map[string]bool      // short warned, recovery not yet said
	kicked time.Time            // last checkpoint asked for
}

// kickEvery bounds how often refusals for lack of space ask for a
// checkpoint (the step that deletes used-up segments).
const kickEvery = time.Second

// free measures dir's free bytes (replaceable by tests).
func (c *Channel) free(dir string) (uint64, error) { return (*c.freeFn.Load())(dir) }

// setFreeSpace replaces the free-space probe (tests).
func (c *Channel) setFreeSpace(f func(dir string) (uint64, error)) { c.freeFn.Store(&f) }

// lowSpace says once, when puts start being refused for lack of space in
// dir, what and where (why names the rule: minimumRequiredSpace, or the
// checkpoint's size); okSpace says once when they are accepted again.
func (c *Channel) lowSpace(dir, why string, free, need uint64) {
	c.space.mu.Lock()
	defer c.space.mu.Unlock()
	c.kickCheckpointLocked()
	if _, ok := c.space.low[dir]; ok {
		return
	}
	if c.space.low == nil {
		c.space.low, c.space.lowAt = map[string]bool{}, map[string]time.Time{}
	}
	// Free space hovering around the threshold would say it at every
	// crossing: once a minute, and its return only when it was said.
	said := time.Since(c.space.lowAt[dir]) >= spaceWarnEvery
	c.space.low[dir] = said
	if !said {
		return
	}
	c.space.lowAt[dir] = time.Now()
	c.log.Warn("file channel: disk almost full: refusing puts (sources are pushed back); takes go on",
		"dir", dir, "free_mib", free>>20, "need_mib", float64(need)/(1<<20), "for", why)
}

func (c *Channel) okSpace(dir string, free uint64) {
	c.space.mu.Lock()
	defer c.space.mu.Unlock()
	said, ok := c.space.low[dir]
	if !ok {
		return
	}
	delete(c.space.low, dir)
	if !said {
		return
	}
	c.log.Info("file channel: disk space is back: accepting puts again", "dir", dir, "free_mib", free>>20)
}

// onSegmentSpace is a writer's OnSpace: a directory without room for a
// new segment refuses puts while takes use the segment kept for them; a
// checkpoint is asked for at once, since it is what deletes segments
// whose events were all taken.
func (c *Channel) onSegmentSpace(dir string) func(*wal.NoSpaceError) {
	return func(e *wal.NoSpaceError) {
		c.space.mu.Lock()
		defer c.space.mu.Unlock()
		if e == nil {
			if c.space.warned[dir] {
				delete(c.space.warned, dir)
				c.log.Info("file channel: room for new log segments again", "dir", dir)
			}
			return
		}
		c.kickCheckpointLocked()
		if c.space.short == nil {
			c.space.short, c.space.warned = map[string]time.Time{}, map[string]bool{}
		}
		if time.Since(c.space.short[dir]) < spaceWarnEvery {
			return
		}
		c.space.short[dir] = time.Now()
		c.space.warned[dir] = true
		c.log.Warn("file channel: no room for a new log segment: refusing puts (sources are pushed back) until taken events free their segments or space is freed; takes go on",
			"dir", dir, "free_mib", float64(e.Free)/(1<<20), "segment_needs_mib", float64(e.Need)/(1<<20))
	}
}

// kickCheckpointLocked asks the checkpoint loop for a checkpoint now, at
// most once per kickEvery: segments whose events were all taken are
// deleted only by a checkpoint. Called with space.mu held.
func (c *Channel) kickCheckpointLocked() {
	if time.Since(c.space.kicked) < kickEvery {
		return
	}
	c.space.kicked = time.Now()
	c.changed.Store(true)
	select {
	case c.ckptKick <- struct{}{}:
	default:
	}
}

// spaceErr turns a writer's no-room error into the refusal sources know:
// channel full, for lack of disk space.
func spaceErr(err error) error {
	if errors.Is(err, wal.ErrNoSpace) {
		return fmt.Errorf("%w: %w: %w", err, ErrDiskSpace, sluice.ErrChannelFull)
	}
	return err
}

// withFree adds the free space of dir to an out-of-space error, so the
// log says how full the disk is.
func withFree(dir string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	if free, ferr := wal.FreeSpace(dir); ferr == nil {
		return fmt.Errorf("%w (%d KiB free in %s)", err, free>>10, dir)
	}
	return err
}

// ckptBytes bounds the size of a checkpoint of n events: 12 bytes each,
// and room for the rest (positions, segment references).
func ckptBytes(n int) uint64 { return uint64(n)*12 + 64<<10 }

// ckptRoomFor is the free space kept for checkpoints of n events: twice
// one, since the checkpoint written next occupies its room until the one
// after it replaces it, and that one must fit too (the queue shrinks only
// as takes go on, and used-up segments go only at a checkpoint).
func ckptRoomFor(n int) uint64 { return 2 * ckptBytes(n) }

// queued is what the next checkpoint would hold, plus n.
func (c *Channel) queued(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.n + c.inflight + c.reserved + n
}

// checkCheckpointSpace refuses puts that would make the checkpoint larger
// than its directory has room for, when that directory shares a file
// system with the log: a checkpoint that cannot be written deletes no
// segment, and a disk full of queued events could then not be drained.
// (A checkpoint disk of its own that fills up only fails checkpoints: the
// log keeps everything meanwhile.)
func (c *Channel) checkCheckpointSpace(n int) error {
	dirs := c.ckptShared
	if len(dirs) == 0 {
		return nil
	}
	events := c.queued(n)
	need := ckptRoomFor(events)
	for _, d := range dirs {
		free, err := c.free(d)
		if err != nil {
			continue // cannot measure: the write will tell
		}
		if free < need {
			c.lowSpace(d, "checkpoint", free, need)
			return fmt.Errorf("channel %s: refusing puts: %s has %d KiB free, less than checkpoints of %d events need (%d KiB): %w: %w",
				c.name, d, free>>10, events, need>>10, ErrDiskSpace, sluice.ErrChannelFull)
		}
		c.okSpace(d, free)
	}
	return nil
}

// ckptRoom is a writer's KeepMore: segments prepared in dir leave room
// for the checkpoint of the queue as it is, when the checkpoint (or its
// backup) is written to the same file system.
func (c *Channel) ckptRoom(dir string) func() uint64 {
	copies := uint64(0)
	for _, d := range []string{c.ckptDir, c.backup} {
		if d != "" && wal.SameFS(d, dir) {
			copies++
			if !slices.Contains(c.ckptShared, d) {
				c.ckptShared = append(c.ckptShared, d)
			}
		}
	}
	if copies == 0 {
		return nil
	}
	return func() uint64 { return copies * ckptRoomFor(c.queued(0)) }
}
