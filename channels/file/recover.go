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

// recovery is what the steps of recover hand on to each other.
type recovery struct {
	st       recoverStats
	byDir    [][]wal.SegmentFile // each data directory's segments, oldest first
	where    map[uint32]int      // segment id -> index of its data directory
	maxID    uint32              // the highest segment id in use
	ck       *checkpoint         // nil: the whole log is replayed
	start    []wal.Position      // per directory, where the checkpoint left its log
	has      []bool              // per directory, whether start is set
	maxTxn   uint64              // the highest transaction id in use
	refs     map[uint32][]uint32 // segment -> older segments its takes refer to
	groups   []putGroup          // committed puts replayed from the log
	taken    map[wal.Ptr]struct{}
	firstSeq []uint64 // per directory, the sequence number its writer starts at
	sc       wal.Scanner
}

// recover rebuilds the queue: the checkpoint (or its backup) gives the
// queue at a moment and where the log stood then; the log after that is
// replayed. Without a usable checkpoint the whole log is replayed. Then a
// writer opens a fresh segment in every data directory.
func (c *Channel) recover() (_ recoverStats, err error) {
	defer func() { err = c.withSalvageHint(err) }()
	c.resetQueue()
	r := &recovery{}
	if err := c.listSegments(r); err != nil {
		return r.st, err
	}
	ck, source := c.loadCheckpoint()
	r.st.source = source
	if err := c.startAt(r, ck); err != nil {
		return r.st, err
	}
	if err := c.replayLogs(r); err != nil {
		return r.st, err
	}
	if err := c.rebuildQueue(r); err != nil {
		return r.st, err
	}
	return r.st, c.openWriters(r)
}

// resetQueue forgets the state of a previous run: the log is the truth.
func (c *Channel) resetQueue() {
	c.mu.Lock()
	c.q, c.inflight, c.reserved, c.openTakes, c.cached, c.failure = ring{}, 0, 0, nil, 0, nil
	c.segs, c.ckptPos = map[uint32]*segment{}, nil
	c.mu.Unlock()
}

// listSegments finds every data directory's segments, so the replay knows
// where each segment lives; a segment in two directories is an error.
func (c *Channel) listSegments(r *recovery) error {
	r.byDir = make([][]wal.SegmentFile, len(c.dirs))
	r.where = map[uint32]int{}
	for d, dir := range c.dirs {
		segs, m, err := wal.ListSegments(dir, true)
		if err != nil {
			return fmt.Errorf("list segments in %s: %w", dir, err)
		}
		for _, s := range segs {
			if prev, dup := r.where[s.ID]; dup {
				return fmt.Errorf("segment %s is in both %s and %s", wal.SegmentName(s.ID), c.dirs[prev], dir)
			}
			r.where[s.ID] = d
		}
		r.byDir[d] = segs
		r.maxID = max(r.maxID, m)
	}
	return nil
}

// startAt takes from the checkpoint (nil: none) where each directory's
// replay starts and the ids and references in use then.
func (c *Channel) startAt(r *recovery, ck *checkpoint) error {
	r.ck = ck
	r.start = make([]wal.Position, len(c.dirs))
	r.has = make([]bool, len(c.dirs))
	r.refs = map[uint32][]uint32{}
	if ck == nil {
		return nil
	}
	for _, p := range ck.positions {
		d, ok := r.where[p.Seg]
		if !ok {
			return fmt.Errorf("the %s continues the log in segment %s, which is in none of dataDirs (%s): was a data directory removed or changed?",
				r.st.source, wal.SegmentName(p.Seg), strings.Join(c.dirs, ", "))
		}
		r.start[d], r.has[d] = p, true
	}
	r.maxTxn = ck.nextTxn
	r.maxID = max(r.maxID, ck.nextSeg)
	for id, refs := range ck.refs {
		r.refs[id] = refs
	}
	return nil
}

// replayLogs reads every directory's log after the checkpoint, collecting
// committed puts and takes, so the queue holds what was committed since.
func (c *Channel) replayLogs(r *recovery) error {
	r.taken = map[wal.Ptr]struct{}{}
	r.firstSeq = make([]uint64, len(c.dirs))
	for d := range c.dirs {
		files := r.byDir[d]
		var afterSeq uint64
		if r.has[d] && r.start[d].Seq > 0 {
			afterSeq = r.start[d].Seq - 1
		}
		for i, sf := range files {
			if r.has[d] && sf.ID < r.start[d].Seg {
				continue
			}
			from := uint32(wal.HeaderSize)
			if r.has[d] && sf.ID == r.start[d].Seg {
				from = r.start[d].Off
			}
			var err error
			if afterSeq, err = c.replaySegment(r, d, sf, from, afterSeq, i == len(files)-1); err != nil {
				return err
			}
		}
		r.firstSeq[d] = afterSeq + 1
	}
	return nil
}

// replaySegment replays one segment from offset from, frames after
// sequence number afterSeq, and returns the last sequence number it read.
// A torn write is cut off the newest segment (last): a crash interrupted
// it before it was acknowledged.
func (c *Channel) replaySegment(r *recovery, d int, sf wal.SegmentFile, from uint32, afterSeq uint64, last bool) (uint64, error) {
	var pend []ckEntry
	var pendTakes []wal.Ptr
	// damaged: a skip record (bytes salvage set aside) came since the
	// last commit record, so the counts of the commit records that follow
	// cannot match, and a commit record may itself be gone. Every record
	// in a frame belongs to a committed transaction (a frame holds whole
	// transactions, and salvage keeps only frames that were durable), so
	// what is pending is applied at the next commit record or at the end.
	damaged := false
	applyTakes := func() {
		for _, p := range pendTakes {
			r.taken[p] = struct{}{}
			if p.Seg() != sf.ID && !containsU32(r.refs[sf.ID], p.Seg()) {
				r.refs[sf.ID] = append(r.refs[sf.ID], p.Seg())
			}
		}
		pendTakes = pendTakes[:0]
	}
	corrupt := func(off uint32, format string, args ...any) error {
		return &wal.CorruptError{Path: sf.Path, Offset: int64(off), Reason: fmt.Sprintf(format, args...)}
	}
	end, err := r.sc.Scan(sf.Path, sf.ID, from, afterSeq, func(off uint32, rec wal.Record) error {
		switch rec.Type {
		case wal.RecSkip:
			damaged = true
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
			r.maxTxn = max(r.maxTxn, cm.Txn)
			if damaged {
				applyTakes()
				if len(pend) > 0 {
					r.groups = append(r.groups, putGroup{txn: cm.Txn, dir: d, es: pend})
					pend = nil
				}
				damaged = false
				return nil
			}
			if cm.Kind == wal.RecPut {
				if cm.Count != len(pend) || len(pendTakes) > 0 {
					return corrupt(off, "commit of %d puts follows %d put records", cm.Count, len(pend))
				}
				r.groups = append(r.groups, putGroup{txn: cm.Txn, dir: d, es: pend})
				pend = nil
				return nil
			}
			if cm.Count != len(pendTakes) || len(pend) > 0 {
				return corrupt(off, "commit of %d takes follows a take record of %d", cm.Count, len(pendTakes))
			}
			applyTakes()
		default:
			return corrupt(off, "unknown record type %d", rec.Type)
		}
		return nil
	})
	if err != nil {
		return afterSeq, err
	}
	if damaged && (len(pend) > 0 || len(pendTakes) > 0) {
		// Their commit record was in the damaged stretch.
		applyTakes()
		if len(pend) > 0 {
			r.groups = append(r.groups, putGroup{txn: r.maxTxn, dir: d, es: pend})
			pend = nil
		}
	}
	if len(pend) > 0 || len(pendTakes) > 0 {
		return afterSeq, corrupt(end.End, "records without their commit record")
	}
	r.st.frames += end.Frames
	r.st.bytes += int64(end.End) - int64(from)
	if end.Frames > 0 {
		afterSeq = end.LastSeq
	}
	if end.Torn {
		if !last {
			// Segments are fsync'd before the next one is used:
			// only the newest can hold an unfinished write.
			return afterSeq, corrupt(end.End, "damaged frame (%s) in a segment newer segments follow", end.TornReason)
		}
		// The frame did not reach the disk whole (a frame written in full
		// and damaged since is refused by the scan instead). What that
		// means for its commits depends on when they returned.
		if c.cfg.FsyncPerTransaction {
			c.log.Warn("file channel: cut off a torn write at the end of the log: a frame that did not reach the disk whole, the write a crash interrupted. "+
				"Its puts had not been acknowledged (a commit of puts returns only after its frame is fsync'd); events whose takes it held are delivered again",
				"file", sf.Path, "offset", end.End, "detail", end.TornReason)
		} else {
			c.log.Error("file channel: cut off a torn write at the end of the log: a frame that did not reach the disk whole. "+
				"With fsyncPerTransaction = false its puts may have been acknowledged before the crash: those events are lost",
				"file", sf.Path, "offset", end.End, "detail", end.TornReason)
		}
		if err := wal.CutTail(sf.Path, end.End); err != nil {
			return afterSeq, err
		}
	}
	return afterSeq, nil
}

// rebuildQueue builds the queue: the checkpoint's, then replayed puts in
// commit order, less everything a replayed take took.
func (c *Channel) rebuildQueue(r *recovery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, d := range r.where {
		c.segs[id] = &segment{id: id, dir: d, refs: r.refs[id]}
	}
	var missing error
	n := 0
	if r.ck != nil {
		n = len(r.ck.entries)
	}
	for _, g := range r.groups {
		n += len(g.es)
	}
	es := make([]entry, 0, n)
	push := func(e ckEntry) bool {
		if _, gone := r.taken[e.ptr]; gone {
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
	if r.ck != nil {
		for _, e := range r.ck.entries {
			if push(e) {
				r.st.fromCkpt++
			}
		}
	}
	sort.SliceStable(r.groups, func(i, j int) bool { return r.groups[i].txn < r.groups[j].txn })
	for _, g := range r.groups {
		for _, e := range g.es {
			push(e)
		}
	}
	c.q.pushBack(es)
	r.st.events = c.q.n
	return missing
}

// openWriters opens a fresh segment in every data directory, with ids and
// sequence numbers after those the log used, so new records follow the old.
func (c *Channel) openWriters(r *recovery) error {
	c.nextTxn.Store(r.maxTxn)
	c.nextSeg.Store(r.maxID)
	syncEvery := takeSyncEvery
	if !c.cfg.FsyncPerTransaction {
		syncEvery = min(syncEvery, c.cfg.FsyncInterval)
	}
	c.ckptShared = nil // ckptRoom lists them again
	for d, dir := range c.dirs {
		w, err := wal.Open(wal.Options{
			Dir:         dir,
			SegmentSize: c.cfg.segmentSize(),
			NextID:      func() uint32 { return c.nextSeg.Add(1) },
			FirstSeq:    r.firstSeq[d],
			SyncEvery:   syncEvery,
			Logger:      c.log,
			KeepFree:    keepFree,
			KeepMore:    c.ckptRoom(dir),
			FreeSpace:   c.free,
			OnSpace:     c.onSegmentSpace(dir),
		})
		if err != nil {
			return fmt.Errorf("open log in %s: %w", dir, err)
		}
		c.writers = append(c.writers, w)
	}
	return nil
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
