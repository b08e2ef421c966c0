package file

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// SalvageReport says what Salvage did.
type SalvageReport struct {
	// Spans are the damaged stretches set aside, in log order.
	Spans []SalvagedSpan
	// Headers counts segment headers that were damaged and rewritten.
	Headers int
	// RecordsKept counts intact records kept in damaged frames.
	RecordsKept int
	// EventsLost counts queued events whose records were in a damaged
	// stretch: those the checkpoint listed, plus the put records of
	// stretches after it that no later take took. LostUnknown is set
	// when such a stretch could not be walked record by record, so how
	// many puts it held cannot be told.
	EventsLost  int
	LostUnknown bool
	// TakesDamaged is set when a damaged stretch after the checkpoint
	// held take records: the events they took are delivered again, and
	// some counted in EventsLost may have been delivered before (it is
	// then at most that many, unless LostUnknown too).
	TakesDamaged bool
	// Events is what the channel holds now: its next start delivers them.
	Events int
	// Torn lists segments ending in a write cut short, left for the
	// channel's start to cut off.
	Torn []string
}

// SalvagedSpan is one damaged stretch of a segment.
type SalvagedSpan struct {
	File       string
	Start, End uint32
	// Saved holds the original bytes of the frame the stretch was in.
	Saved string
	// Queued counts the events the checkpoint listed in the stretch.
	Queued int
	// Puts counts the put records the stretch held, when Counted (its
	// records could be walked by their length fields).
	Puts    int
	Counted bool
}

// Salvage repairs a stopped file channel's log after damage: every
// intact record is kept where it is, each damaged stretch is copied to a
// file beside its segment and replaced by a record replay passes over,
// and the checkpoints stop listing events that were in it. The channel
// then starts normally and delivers everything else. It takes the
// directories' locks, so it refuses to run beside a live channel.
func Salvage(cfg *Config, log *slog.Logger) (SalvageReport, error) {
	var rep SalvageReport
	// Only the channel's existing directories: a mistyped path must not
	// become a new, empty channel that salvage then calls undamaged.
	for _, d := range append([]string{cfg.CheckpointDir}, cfg.DataDirs...) {
		p, err := expandHome(d)
		if err != nil {
			return rep, err
		}
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			return rep, fmt.Errorf("%q is not a directory: give the channel's own dataDirs and checkpointDir", d)
		}
	}
	c, err := New(sluice.Env{Name: "salvage", Logger: log}, cfg)
	if err != nil {
		return rep, err
	}
	if err := c.openDirs(); err != nil {
		c.release()
		return rep, err
	}
	defer c.release()
	c.resetQueue()
	r := &recovery{}
	if err := c.listSegments(r); err != nil {
		return rep, err
	}
	spans, earlier := map[uint32][]wal.Span{}, map[uint32][]wal.Span{}
	for _, files := range r.byDir {
		var seq uint64
		for i, sf := range files {
			res, err := wal.RepairSegment(sf.Path, sf.ID, seq, i == len(files)-1)
			if err != nil {
				return rep, err
			}
			seq = res.LastSeq
			if res.Header {
				rep.Headers++
				c.log.Warn("file channel salvage: rewrote a damaged segment header", "file", sf.Path)
			}
			if res.Torn {
				rep.Torn = append(rep.Torn, sf.Path)
			}
			rep.RecordsKept += res.Records
			spans[sf.ID] = res.Spans
			earlier[sf.ID] = res.Earlier
			for _, s := range res.Spans {
				rep.Spans = append(rep.Spans, SalvagedSpan{File: sf.Path, Start: s.Start, End: s.End, Saved: s.Saved, Puts: s.Puts, Counted: s.Counted})
			}
		}
	}
	inSpan := func(p wal.Ptr) int {
		for _, s := range spans[p.Seg()] {
			if s.Contains(p.Off()) {
				return idxSpan(rep.Spans, p)
			}
		}
		return -1
	}
	// The checkpoints must stop listing events whose records are gone.
	removed := map[wal.Ptr]struct{}{}
	counted := false
	for _, dir := range []string{c.ckptDir, c.backup} {
		if dir == "" {
			continue
		}
		ck, err := readCheckpoint(dir)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				c.log.Warn("file channel salvage: checkpoint unusable; the channel's start falls back as usual", "dir", dir, "err", err)
			}
			continue
		}
		kept := ck.entries[:0]
		for _, e := range ck.entries {
			if inEarlier(earlier, e.ptr) {
				// Set aside by a salvage that stopped before it got
				// here: counted now.
				if !counted {
					rep.EventsLost++
				}
				continue
			}
			if i := inSpan(e.ptr); i >= 0 {
				if !counted {
					removed[e.ptr] = struct{}{}
					rep.Spans[i].Queued++
				}
				continue
			}
			kept = append(kept, e)
		}
		counted = true
		if len(kept) == len(ck.entries) {
			continue
		}
		ck.entries = kept
		if err := writeCheckpoint(dir, ck.encode()); err != nil {
			return rep, fmt.Errorf("rewrite checkpoint in %s: %w", dir, err)
		}
	}
	// Replay as a start would, to count what the log after the
	// checkpoint lost and what the channel holds now. Stretches after
	// the checkpoint's position were never listed in a checkpoint: their
	// put records are counted instead.
	ck, source := c.loadCheckpoint()
	ckPos := map[int]wal.Position{}
	if ck != nil {
		for _, p := range ck.positions {
			if d, ok := r.where[p.Seg]; ok {
				ckPos[d] = p
			}
		}
	}
	r.st.source = source
	if err := c.startAt(r, ck); err != nil {
		return rep, err
	}
	if err := c.replayLogs(r); err != nil {
		return rep, fmt.Errorf("replay after salvage: %w", err)
	}
	if err := c.rebuildQueue(r); err != nil {
		return rep, err
	}
	rep.Events = r.st.events
	for p := range removed {
		if _, taken := r.taken[p]; !taken {
			rep.EventsLost++
		}
	}
	// Damaged puts after the checkpoint were queued unless a later take
	// took them.
	afterCkpt := func(id uint32, off uint32) bool {
		p, ok := ckPos[r.where[id]]
		return !ok || id > p.Seg || (id == p.Seg && off >= p.Off)
	}
	puts, delivered := 0, 0
	for _, files := range r.byDir {
		for _, sf := range files {
			for _, s := range spans[sf.ID] {
				if !afterCkpt(sf.ID, s.Start) {
					continue
				}
				puts += s.Puts
				if !s.Counted {
					rep.LostUnknown = true
				}
				if s.Takes > 0 || !s.Counted {
					rep.TakesDamaged = true
				}
			}
		}
	}
	for p := range r.taken {
		if _, was := removed[p]; !was && inSpan(p) >= 0 && afterCkpt(p.Seg(), p.Off()) {
			delivered++
		}
	}
	rep.EventsLost += max(0, puts-delivered)
	if len(rep.Torn) > 0 {
		// A torn tail may have held takes whose commits had returned.
		rep.TakesDamaged = true
	}
	for _, s := range rep.Spans {
		c.log.Warn("file channel salvage: set aside a damaged stretch of the log",
			"file", s.File, "offset", s.Start, "end", s.End, "bytes", s.End-s.Start, "put_records", s.putRecords(), "in_checkpoint", s.Queued, "saved_to", s.Saved)
	}
	return rep, nil
}

func idxSpan(all []SalvagedSpan, p wal.Ptr) int {
	name := wal.SegmentName(p.Seg())
	for i, s := range all {
		if strings.HasSuffix(s.File, name) && p.Off() >= s.Start && p.Off() < s.End {
			return i
		}
	}
	return -1
}

// salvageHint is appended to errors about damaged log data: how to get
// every intact event out.
func (c *Channel) salvageHint() string {
	cmd := fmt.Sprintf("sluice filechannel salvage --dataDirs %s --checkpointDir %s", strings.Join(c.dirs, ","), c.ckptDir)
	if c.backup != "" {
		cmd += " --backupCheckpointDir " + c.backup
	}
	return "; to deliver every intact event and set the damaged bytes aside, stop the agent and run: " + cmd +
		" (see docs/file-channel.md, Corruption and salvage)"
}

// withSalvageHint adds the hint to an error that holds a *wal.CorruptError.
func (c *Channel) withSalvageHint(err error) error {
	var ce *wal.CorruptError
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("%w%s", err, c.salvageHint())
}

// putRecords says how many put records the stretch held.
func (s SalvagedSpan) putRecords() string {
	if !s.Counted {
		return "unknown"
	}
	return fmt.Sprint(s.Puts)
}

// Describe is one line about the stretch for people.
func (s SalvagedSpan) Describe() string {
	return fmt.Sprintf("%s offset %d to %d (%d bytes; put records: %s, %d of them queued at the last checkpoint); original bytes in %s",
		s.File, s.Start, s.End, s.End-s.Start, s.putRecords(), s.Queued, s.Saved)
}

func inEarlier(earlier map[uint32][]wal.Span, p wal.Ptr) bool {
	for _, s := range earlier[p.Seg()] {
		if s.Contains(p.Off()) {
			return true
		}
	}
	return false
}
