package file

import (
	"fmt"
	"os"
	"slices"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// segment is what the channel knows of one log segment.
type segment struct {
	id   uint32
	dir  int   // index into c.dirs
	live int64 // queued or in-flight events whose put record is here
	// refs lists other segments holding puts that take records in this
	// one took. This segment must outlive them: were it deleted first, a
	// full replay (both checkpoints lost) would find those puts without
	// their takes and deliver them again.
	refs []uint32
}

// seg returns the segment record for id, creating it. Called with mu held.
func (c *Channel) seg(id uint32, dir int) *segment {
	s := c.segs[id]
	if s == nil {
		s = &segment{id: id, dir: dir}
		c.segs[id] = s
	}
	return s
}

func (s *segment) addRef(id uint32) {
	if id != s.id && !slices.Contains(s.refs, id) {
		s.refs = append(s.refs, id)
	}
}

// deleteSegments removes segments that lie wholly before the last
// checkpoint's position in their directory, hold no queued event, and
// whose takes concern only segments already gone.
func (c *Channel) deleteSegments() {
	c.mu.Lock()
	if c.ckptPos == nil {
		c.mu.Unlock()
		return
	}
	var gone []*segment
	for changed := true; changed; {
		changed = false
		for id, s := range c.segs {
			if s.live != 0 || s.dir >= len(c.ckptPos) || id >= c.ckptPos[s.dir].Seg {
				continue
			}
			ok := true
			for _, r := range s.refs {
				if _, alive := c.segs[r]; alive {
					ok = false
					break
				}
			}
			if ok {
				delete(c.segs, id)
				gone = append(gone, s)
				changed = true
			}
		}
	}
	c.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	dirs := map[int]bool{}
	for _, s := range gone {
		c.files.drop(s.id)
		if err := os.Remove(segPath(c.dirs[s.dir], s.id)); err != nil && !os.IsNotExist(err) {
			c.log.Warn("file channel: cannot delete a used-up log segment", "err", err)
			continue
		}
		dirs[s.dir] = true
	}
	for d := range dirs {
		if err := wal.SyncDir(c.dirs[d]); err != nil {
			c.log.Warn("file channel: fsync after deleting segments failed", "err", err)
		}
	}
	c.log.Debug("file channel: deleted used-up log segments", "count", len(gone))
}

// readBack fills out[i] for every entry without a cached event by reading
// its put record from the log. Neighbouring records of one segment are
// read with one pread.
func (c *Channel) readBack(es []entry, out []*sluice.Event) error {
	var slab []sluice.Event
	for i := 0; i < len(es); {
		if es[i].ev != nil {
			out[i] = es[i].ev
			i++
			continue
		}
		// A run: same segment, ascending, small gaps, bounded span.
		j := i + 1
		start := int64(es[i].ptr.Off())
		end := start + int64(es[i].size)
		for j < len(es) && es[j].ev == nil && es[j].ptr.Seg() == es[i].ptr.Seg() {
			off := int64(es[j].ptr.Off())
			if off < end || off-end > 64<<10 || off+int64(es[j].size)-start > 8<<20 {
				break
			}
			end = off + int64(es[j].size)
			j++
		}
		id := es[i].ptr.Seg()
		c.mu.Lock()
		s := c.segs[id]
		c.mu.Unlock()
		if s == nil {
			return fmt.Errorf("event at %s: its segment is not known (deleted while still in use?)", es[i].ptr)
		}
		path := segPath(c.dirs[s.dir], id)
		f, err := c.files.get(id, path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return fmt.Errorf("read %s at %d: %w", path, start, err)
		}
		if slab == nil {
			slab = make([]sluice.Event, len(es)-i)
		}
		for k := i; k < j; k++ {
			at := int64(es[k].ptr.Off()) - start
			rec, err := wal.ParseRecord(buf[at : at+int64(es[k].size)])
			if err == nil && rec.Type != wal.RecPut {
				err = fmt.Errorf("record of type %d where a put was expected", rec.Type)
			}
			ev := &slab[0]
			slab = slab[1:]
			if err == nil {
				err = wal.DecodeEvent(rec.Body, ev)
			}
			if err != nil {
				return c.withSalvageHint(&wal.CorruptError{Path: path, Offset: int64(es[k].ptr.Off()), Reason: err.Error()})
			}
			out[k] = ev
		}
		i = j
	}
	return nil
}
