package file

import (
	"errors"
	"fmt"
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
// dir, what and where; okSpace says once when they are accepted again.
func (c *Channel) lowSpace(dir string, free, need uint64) {
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
		"dir", dir, "free_mib", free>>20, "minimumRequiredSpace_mib", need>>20)
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
