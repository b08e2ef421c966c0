package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/sluiceio/sluice"
)

// RecSkip marks bytes that salvage set aside: a damaged stretch of a frame
// replaced, in place, by one record of the same size whose body is zeros.
// Replay passes over it; the original bytes are in a file beside the
// segment.
const RecSkip byte = 4

// Span is a damaged stretch of a segment that salvage set aside.
type Span struct {
	Start, End uint32 // [Start, End) in the segment
	// Saved is the file beside the segment holding the original bytes
	// of the frame the stretch was in.
	Saved string
	// Puts is how many put records the stretch held, when Counted: its
	// records could be walked by their length fields (the damage left
	// those intact), so the count is exact.
	Puts    int
	Takes   int // take records, when Counted
	Counted bool
}

// Contains reports whether the record at off lies in the span.
func (s Span) Contains(off uint32) bool { return off >= s.Start && off < s.End }

// Repaired says what RepairSegment did to one segment.
type Repaired struct {
	// Spans are the damaged stretches now covered by skip records.
	Spans []Span
	// Earlier are stretches an earlier salvage set aside (skip records
	// found intact): a checkpoint written before that salvage finished
	// may still list events in them.
	Earlier []Span
	// Header is set when the segment header was damaged and rewritten.
	Header bool
	// Records counts the intact records kept in damaged frames.
	Records int
	// LastSeq is the sequence number of the segment's last frame, for
	// the next segment of the directory.
	LastSeq uint64
	// Torn is set when the segment ends in a write cut short, left for
	// the channel's recovery to cut off (it says what is known about it).
	Torn bool
}

// RepairSegment makes segment id at path readable again by replay: every
// damaged frame keeps its intact records where they are (queued pointers
// and take records refer to them by offset), the stretches that do not
// check out become skip records, and the frame header is rewritten to
// cover them. The original bytes of each repaired frame are first saved
// to path + ".damaged-<offset>". afterSeq is the sequence number of the
// directory's frame before this segment (0 when unknown); newest says
// whether no newer segment follows in the directory, where a torn tail is
// left for recovery to cut. The channel must not be running.
func RepairSegment(path string, id uint32, afterSeq uint64, newest bool) (Repaired, error) {
	var res Repaired
	data, err := os.ReadFile(path)
	if err != nil {
		return res, err
	}
	if len(data) < HeaderSize {
		return res, fmt.Errorf("segment %s is %d bytes, shorter than its header", path, len(data))
	}
	var patches [][2]int // [start, end) of data rewritten
	if err := checkSegHeader(data, id); err != nil {
		copy(data, appendSegHeader(nil, id))
		res.Header = true
		patches = append(patches, [2]int{0, HeaderSize})
	}
	var sc Scanner
	off, lastSeq, haveSeq := HeaderSize, afterSeq, afterSeq > 0
	for {
		reason, _ := sc.frame(data, off, lastSeq, haveSeq)
		if reason == "" {
			for _, r := range sc.recs {
				if r.rec.Type == RecSkip {
					res.Earlier = append(res.Earlier, Span{Start: r.off, End: r.off + uint32(r.rec.Size)})
				}
			}
			hdr, _ := parseFrameHeader(data[off:])
			off += FrameHeaderSize + hdr.payload
			lastSeq, haveSeq = hdr.seq, true
			continue
		}
		if reason == "end" {
			break
		}
		synced, later := laterSynced(data, off+1, lastSeq)
		durable := (later && synced > uint32(off)) || completeFrame(data, off)
		if !durable && newest {
			res.Torn = true
			break
		}
		next, nextSeq, found := nextIntactFrame(&sc, data, off+1, lastSeq, haveSeq)
		limit := len(data)
		if found {
			limit = next
		}
		end, spans, kept, err := repairFrame(data, off, limit, found)
		if err != nil {
			return res, fmt.Errorf("salvage %s at offset %d: %w", path, off, err)
		}
		saved := fmt.Sprintf("%s.damaged-%d", path, off)
		if err := saveAside(saved, dataCopy(path, off, end)); err != nil {
			return res, err
		}
		seq := lastSeq + 1
		if found && (!haveSeq || nextSeq-1 > lastSeq) {
			seq = nextSeq - 1
		}
		putFrameHeader(data[off:], end-off-FrameHeaderSize, seq, uint32(off))
		for _, s := range spans {
			s.Puts, s.Takes, s.Counted = countRecords(data[s.Start:s.End])
			putSkip(data[s.Start:s.End])
			s.Saved = saved
			res.Spans = append(res.Spans, s)
		}
		patches = append(patches, [2]int{off, end})
		res.Records += kept
		off, lastSeq, haveSeq = end, seq, true
	}
	res.LastSeq = lastSeq
	if len(patches) == 0 {
		return res, nil
	}
	return res, writePatches(path, data, patches)
}

// dataCopy reads [from, to) of the file as it is on disk (data is being
// patched in memory).
func dataCopy(path string, from, to int) func() ([]byte, error) {
	return func() ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b := make([]byte, to-from)
		_, err = f.ReadAt(b, int64(from))
		return b, err
	}
}

func saveAside(path string, read func() ([]byte, error)) error {
	b, err := read()
	if err != nil {
		return fmt.Errorf("read damaged bytes: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return f.Close()
}

func writePatches(path string, data []byte, patches [][2]int) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range patches {
		if _, err := f.WriteAt(data[p[0]:p[1]], int64(p[0])); err != nil {
			return fmt.Errorf("write %s at %d: %w", path, p[0], err)
		}
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// putSkip turns b into one skip record with a zero body.
func putSkip(b []byte) {
	clear(b)
	b[8] = RecSkip
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b, Checksum(b[4:]))
}

// nextIntactFrame finds the first offset at or after from where a whole
// frame checks out with a sequence number after lastSeq.
func nextIntactFrame(sc *Scanner, data []byte, from int, lastSeq uint64, haveSeq bool) (at int, seq uint64, ok bool) {
	var magic [4]byte
	binary.LittleEndian.PutUint32(magic[:], frameMagic)
	for i := from; i+FrameHeaderSize <= len(data); i++ {
		j := bytes.Index(data[i:], magic[:])
		if j < 0 {
			return 0, 0, false
		}
		i += j
		hdr, ok := parseFrameHeader(data[i:])
		if !ok || (haveSeq && hdr.seq <= lastSeq) {
			continue
		}
		if reason, _ := sc.frame(data, i, lastSeq, haveSeq); reason == "" {
			return i, hdr.seq, true
		}
	}
	return 0, 0, false
}

// repairFrame works out the damaged frame at off, which ends at limit (the
// next intact frame when next is set, else the end of the file). Records
// that check out are kept in place; the stretches between them are
// returned as spans, each at least a record header long. It returns where
// the repaired frame ends.
func repairFrame(data []byte, off, limit int, next bool) (end int, spans []Span, kept int, err error) {
	type run struct{ start, end int }
	var good []run
	p := off + FrameHeaderSize
	for p < limit {
		if !next && allZero(data[p:limit]) {
			break
		}
		if n, ok := intactRecord(data[p:limit]); ok {
			good = append(good, run{p, p + n})
			p += n
			continue
		}
		p++
	}
	end = off + FrameHeaderSize
	if len(good) > 0 {
		end = good[len(good)-1].end
	}
	if next {
		end = limit
	} else if p > end && !allZero(data[end:min(p, limit)]) {
		// Damage after the last intact record: up to its last non-zero byte.
		last := end
		for i := min(p, limit) - 1; i >= end; i-- {
			if data[i] != 0 {
				last = i + 1
				break
			}
		}
		end = max(last, end+RecordHeaderSize)
		if end > limit {
			return 0, nil, 0, fmt.Errorf("no room for a skip record before the end of the file")
		}
	}
	// The gaps between kept records are the damage. A gap too small for
	// a skip record takes in its neighbour.
	for {
		var out []Span
		gap := -1
		at := off + FrameHeaderSize
		for i, g := range append(good, run{end, end}) {
			if g.start > at {
				if g.start-at < RecordHeaderSize {
					gap = i
					break
				}
				out = append(out, Span{Start: uint32(at), End: uint32(g.start)})
			}
			at = max(at, g.end)
		}
		if gap < 0 {
			return end, out, len(good), nil
		}
		switch {
		case gap < len(good):
			good = append(good[:gap], good[gap+1:]...)
		case gap > 0:
			good = good[:gap-1]
		default:
			return 0, nil, 0, fmt.Errorf("a damaged stretch too short to mark")
		}
	}
}

// intactRecord reports whether b starts with a record that checks out and
// means something: a known type with a body that decodes.
func intactRecord(b []byte) (int, bool) {
	rec, err := ParseRecord(b)
	if err != nil {
		return 0, false
	}
	switch rec.Type {
	case RecPut:
		var ev sluice.Event
		err = DecodeEvent(rec.Body, &ev)
	case RecTake:
		_, err = ParseTake(nil, rec.Body)
	case RecCommit:
		_, err = ParseCommit(rec.Body)
	case RecSkip:
	default:
		return 0, false
	}
	return rec.Size, err == nil
}

// completeFrame reports whether the frame at off is whole on disk with a
// damaged record inside it: its header checks out, and after the record
// that fails, the records that follow check out up to the frame's end. A
// write cut short leaves zeros there instead, so this is damage to bytes
// that were written, whether or not the commit had returned.
func completeFrame(data []byte, off int) bool {
	hdr, ok := parseFrameHeader(data[off:])
	if !ok {
		return false
	}
	stop := off + FrameHeaderSize + hdr.payload
	if stop > len(data) {
		return false
	}
	p := off + FrameHeaderSize
	for p < stop {
		rec, err := ParseRecord(data[p:stop])
		if err != nil {
			break
		}
		p += rec.Size
	}
	if p+RecordHeaderSize > stop {
		return false
	}
	q := p + 8 + int(binary.LittleEndian.Uint32(data[p+4:]))
	if q <= p+8 || q >= stop || unwrittenSector(data, p, q) {
		return false
	}
	for q < stop {
		rec, err := ParseRecord(data[q:stop])
		if err != nil {
			return false
		}
		q += rec.Size
	}
	return true
}

// unwrittenSector reports whether [from, to) holds a whole 512-byte sector
// of zeros: after a power loss, a page of a frame that never reached the
// disk reads as the zeros the segment was prepared with, while later pages
// of the same frame may have.
func unwrittenSector(data []byte, from, to int) bool {
	for s := (from + 511) &^ 511; s+512 <= to; s += 512 {
		if allZero(data[s : s+512]) {
			return true
		}
	}
	return false
}

// countRecords walks a damaged stretch by its records' length fields,
// which a flipped byte elsewhere leaves intact, and counts its put and
// take records. ok is false when the walk does not land exactly on the
// stretch's end or meets an unknown type: then what it held is not known.
func countRecords(b []byte) (puts, takes int, ok bool) {
	for p := 0; p < len(b); {
		if len(b)-p < RecordHeaderSize {
			return 0, 0, false
		}
		n := int(binary.LittleEndian.Uint32(b[p+4:]))
		if n < 1 || n > len(b)-p-8 {
			return 0, 0, false
		}
		switch b[p+8] {
		case RecPut:
			puts++
		case RecTake:
			takes++
		case RecCommit:
		default:
			return 0, 0, false
		}
		p += 8 + n
	}
	return puts, takes, true
}
