package file

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/sluiceio/sluice/internal/wal"
)

type recoverStats struct {
	events   int
	fromCkpt int
	frames   int
	bytes    int64
	source   string
}

type putGroup struct {
	txn uint64
	dir int
	es  []ckEntry
}

// recover rebuilds the queue: the checkpoint (or its backup) gives the
// queue at a moment and where the log stood then; the log after that is
// replayed. Without a usable checkpoint the whole log is replayed. Then a
// writer opens a fresh segment in every data directory.
func (c *Channel) recover() (recoverStats, error) {
	var st recoverStats
	c.mu.Lock()
	c.q, c.inflight, c.reserved, c.openTakes, c.cached, c.failure = ring{}, 0, 0, nil, 0, nil
	c.segs, c.ckptPos = map[uint32]*segment{}, nil
	c.mu.Unlock()

	byDir := make([][]wal.SegmentFile, len(c.dirs))
	where := map[uint32]int{}
	var maxID uint32
	for d, dir := range c.dirs {
		segs, m, err := wal.ListSegments(dir, true)
		if err != nil {
			return st, fmt.Errorf("list segments in %s: %w", dir, err)
		}
		for _, s := range segs {
			if prev, dup := where[s.ID]; dup {
				return st, fmt.Errorf("segment %s is in both %s and %s", wal.SegmentName(s.ID), c.dirs[prev], dir)
			}
			where[s.ID] = d
		}
		byDir[d] = segs
		maxID = max(maxID, m)
	}

	ck, source := c.loadCheckpoint()
	st.source = source
	start := make([]wal.Position, len(c.dirs))
	has := make([]bool, len(c.dirs))
	var maxTxn uint64
	refs := map[uint32][]uint32{}
	if ck != nil {
		for _, p := range ck.positions {
			d, ok := where[p.Seg]
			if !ok {
				return st, fmt.Errorf("the %s continues the log in segment %s, which is in none of dataDirs (%s): was a data directory removed or changed?",
					source, wal.SegmentName(p.Seg), strings.Join(c.dirs, ", "))
			}
			start[d], has[d] = p, true
		}
		maxTxn = ck.nextTxn
		maxID = max(maxID, ck.nextSeg)
		for id, r := range ck.refs {
			refs[id] = r
		}
	}

	var groups []putGroup
	taken := map[wal.Ptr]struct{}{}
	firstSeq := make([]uint64, len(c.dirs))
	var sc wal.Scanner
	for d := range c.dirs {
		files := byDir[d]
		var afterSeq uint64
		if has[d] && start[d].Seq > 0 {
			afterSeq = start[d].Seq - 1
		}
		for i, sf := range files {
			if has[d] && sf.ID < start[d].Seg {
				continue
			}
			from := uint32(wal.HeaderSize)
			if has[d] && sf.ID == start[d].Seg {
				from = start[d].Off
			}
			var pend []ckEntry
			var pendTakes []wal.Ptr
			corrupt := func(off uint32, format string, args ...any) error {
				return &wal.CorruptError{Path: sf.Path, Offset: int64(off), Reason: fmt.Sprintf(format, args...)}
			}
			end, err := sc.Scan(sf.Path, sf.ID, from, afterSeq, func(off uint32, rec wal.Record) error {
				switch rec.Type {
				case wal.RecPut:
					pend = append(pend, ckEntry{ptr: wal.MakePtr(sf.ID, off), size: uint32(rec.Size)})
				case wal.RecTake:
					var err error
					if pendTakes, err = wal.ParseTake(pendTakes, rec.Body); err != nil {
						return corrupt(off, "%v", err)
					}
				case wal.RecCommit:
					cm, err := wal.ParseCommit(rec.Body)
					if err != nil {
						return corrupt(off, "%v", err)
					}
					maxTxn = max(maxTxn, cm.Txn)
					if cm.Kind == wal.RecPut {
						if cm.Count != len(pend) || len(pendTakes) > 0 {
							return corrupt(off, "commit of %d puts follows %d put records", cm.Count, len(pend))
						}
						groups = append(groups, putGroup{txn: cm.Txn, dir: d, es: pend})
						pend = nil
						return nil
					}
					if cm.Count != len(pendTakes) || len(pend) > 0 {
						return corrupt(off, "commit of %d takes follows a take record of %d", cm.Count, len(pendTakes))
					}
					for _, p := range pendTakes {
						taken[p] = struct{}{}
						if p.Seg() != sf.ID && !containsU32(refs[sf.ID], p.Seg()) {
							refs[sf.ID] = append(refs[sf.ID], p.Seg())
						}
					}
					pendTakes = pendTakes[:0]
				default:
					return corrupt(off, "unknown record type %d", rec.Type)
				}
				return nil
			})
			if err != nil {
				return st, err
			}
			if len(pend) > 0 || len(pendTakes) > 0 {
				return st, corrupt(end.End, "records without their commit record")
			}
			st.frames += end.Frames
			st.bytes += int64(end.End) - int64(from)
			if end.Frames > 0 {
				afterSeq = end.LastSeq
			}
			if end.Torn {
				if i != len(files)-1 {
					// Segments are fsync'd before the next one is used:
					// only the newest can hold an unfinished write.
					return st, corrupt(end.End, "damaged frame (%s) in a segment newer segments follow", end.TornReason)
				}
				c.log.Warn("file channel: cut off a torn write at the end of the log (a crash interrupted it; it was never acknowledged)",
					"file", sf.Path, "offset", end.End, "detail", end.TornReason)
				if err := wal.CutTail(sf.Path, end.End); err != nil {
					return st, err
				}
			}
		}
		firstSeq[d] = afterSeq + 1
	}

	// The queue: the checkpoint's, then replayed puts in commit order,
	// less everything a replayed take took.
	c.mu.Lock()
	for id, d := range where {
		c.segs[id] = &segment{id: id, dir: d, refs: refs[id]}
	}
	var missing error
	n := 0
	if ck != nil {
		n = len(ck.entries)
	}
	for _, g := range groups {
		n += len(g.es)
	}
	es := make([]entry, 0, n)
	push := func(e ckEntry) bool {
		if _, gone := taken[e.ptr]; gone {
			return false
		}
		s := c.segs[e.ptr.Seg()]
		if s == nil {
			if missing == nil {
				missing = fmt.Errorf("queued events are in segment %s, which is in none of dataDirs (%s): was a data directory removed or changed?",
					wal.SegmentName(e.ptr.Seg()), strings.Join(c.dirs, ", "))
			}
			return false
		}
		s.live++
		es = append(es, entry{ptr: e.ptr, size: e.size})
		return true
	}
	if ck != nil {
		for _, e := range ck.entries {
			if push(e) {
				st.fromCkpt++
			}
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].txn < groups[j].txn })
	for _, g := range groups {
		for _, e := range g.es {
			push(e)
		}
	}
	c.q.pushBack(es)
	st.events = c.q.n
	c.mu.Unlock()
	if missing != nil {
		return st, missing
	}

	c.nextTxn.Store(maxTxn)
	c.nextSeg.Store(maxID)
	syncEvery := takeSyncEvery
	if !c.cfg.FsyncPerTransaction {
		syncEvery = min(syncEvery, c.cfg.FsyncInterval)
	}
	for d, dir := range c.dirs {
		w, err := wal.Open(wal.Options{
			Dir:         dir,
			SegmentSize: c.cfg.segmentSize(),
			NextID:      func() uint32 { return c.nextSeg.Add(1) },
			FirstSeq:    firstSeq[d],
			SyncEvery:   syncEvery,
			Logger:      c.log,
		})
		if err != nil {
			return st, fmt.Errorf("open log in %s: %w", dir, err)
		}
		c.writers = append(c.writers, w)
	}
	return st, nil
}

func containsU32(s []uint32, x uint32) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// loadCheckpoint returns the checkpoint, else the backup, else nil (a full
// replay), warning about each one that is damaged.
func (c *Channel) loadCheckpoint() (*checkpoint, string) {
	type cand struct{ dir, name string }
	cands := []cand{{c.ckptDir, "checkpoint"}}
	if c.backup != "" {
		cands = append(cands, cand{c.backup, "backup checkpoint"})
	}
	damaged := false
	for _, k := range cands {
		ck, err := readCheckpoint(k.dir)
		if err == nil {
			if damaged {
				c.log.Warn("file channel: using the backup checkpoint", "dir", k.dir)
			}
			return ck, k.name
		}
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		damaged = true
		c.log.Warn("file channel: checkpoint unusable", "file", k.dir+string(os.PathSeparator)+checkpointFile, "err", err)
	}
	if damaged {
		c.log.Warn("file channel: no usable checkpoint; replaying the whole log")
		return nil, "none (damaged; full replay)"
	}
	return nil, "none"
}
