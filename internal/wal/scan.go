package wal

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// CorruptError is damage to data that was durable: recovery stops rather
// than skip it.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt log %s at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// ScanEnd describes how a segment scan ended.
type ScanEnd struct {
	// End is the offset just after the last intact frame.
	End uint32
	// LastSeq is the sequence number of the last intact frame; Frames
	// counts the intact frames read.
	LastSeq uint64
	Frames  int
	// Torn is set when the segment ends in a frame that was never fully
	// written (a crash during a write): it was cut at End. TornReason
	// says what was wrong with it.
	Torn       bool
	TornReason string
}

// Scanner reads segments back at recovery, reusing one buffer.
type Scanner struct {
	buf  []byte
	recs []recAt
}

type recAt struct {
	off uint32
	rec Record
}

// Scan reads segment id at path from offset from (HeaderSize or a
// checkpointed position) and calls fn with every record of every intact
// frame, in order. A frame's records are handed over only once the whole
// frame checked out. afterSeq, when not zero, is the sequence number the
// frames must exceed. A damaged frame that nothing durable follows is a
// torn tail (reported in ScanEnd); any other damage is a *CorruptError.
func (s *Scanner) Scan(path string, id uint32, from uint32, afterSeq uint64, fn func(off uint32, rec Record) error) (ScanEnd, error) {
	data, err := s.read(path)
	if err != nil {
		return ScanEnd{}, err
	}
	if err := checkSegHeader(data, id); err != nil {
		return ScanEnd{}, &CorruptError{Path: path, Offset: 0, Reason: err.Error()}
	}
	off := max(int(from), HeaderSize)
	if off > len(data) {
		return ScanEnd{}, &CorruptError{Path: path, Offset: int64(off), Reason: fmt.Sprintf("file is %d bytes, shorter than the checkpointed position", len(data))}
	}
	end := ScanEnd{End: uint32(off), LastSeq: afterSeq}
	for {
		frameAt := off
		reason, badAt := s.frame(data, off, end.LastSeq, end.Frames > 0 || afterSeq > 0)
		if reason == "" {
			hdr, _ := parseFrameHeader(data[off:])
			for _, r := range s.recs {
				if err := fn(r.off, r.rec); err != nil {
					return end, err
				}
			}
			off += FrameHeaderSize + hdr.payload
			end.End, end.LastSeq = uint32(off), hdr.seq
			end.Frames++
			continue
		}
		if reason == "end" {
			return end, nil
		}
		// A damaged frame. If a later intact frame says the data here was
		// already fsync'd, a caller was told it was safe: that is
		// corruption. Otherwise the write was cut short by the crash.
		if synced, ok := laterSynced(data, frameAt+1, end.LastSeq); ok && synced > uint32(frameAt) {
			return end, &CorruptError{Path: path, Offset: int64(badAt), Reason: reason}
		}
		// A frame whole on disk, records intact after the damaged one,
		// was written in full and damaged since: whether its commit had
		// returned is not known, so it is not cut off as a torn write.
		if completeFrame(data, frameAt) {
			return end, &CorruptError{Path: path, Offset: int64(badAt), Reason: reason + " (in a frame written in full, the newest of its segment)"}
		}
		end.Torn, end.TornReason = true, fmt.Sprintf("%s at offset %d", reason, badAt)
		return end, nil
	}
}

// frame checks the frame at off. It returns "" when the frame is intact
// (its records are in s.recs), "end" at the clean end of the data, or
// what is wrong and where.
func (s *Scanner) frame(data []byte, off int, lastSeq uint64, haveSeq bool) (reason string, at int) {
	s.recs = s.recs[:0]
	rest := data[off:]
	hdr, ok := parseFrameHeader(rest)
	if !ok {
		if allZero(rest) {
			return "end", off
		}
		return "damaged frame header", off
	}
	if hdr.payload > len(rest)-FrameHeaderSize {
		return fmt.Sprintf("frame of %d bytes runs past the end of the file", hdr.payload), off
	}
	if haveSeq && hdr.seq <= lastSeq {
		return fmt.Sprintf("frame sequence %d does not follow %d", hdr.seq, lastSeq), off
	}
	p := off + FrameHeaderSize
	stop := p + hdr.payload
	for p < stop {
		rec, err := ParseRecord(data[p:stop])
		if err != nil {
			return err.Error(), p
		}
		s.recs = append(s.recs, recAt{off: uint32(p), rec: rec})
		p += rec.Size
	}
	return "", 0
}

// laterSynced looks for intact frame headers after from with a sequence
// above lastSeq, and returns the largest "synced" offset they carry.
func laterSynced(data []byte, from int, lastSeq uint64) (uint32, bool) {
	var best uint32
	found := false
	for i := from; i+FrameHeaderSize <= len(data); i++ {
		if binary.LittleEndian.Uint32(data[i:]) != frameMagic {
			continue
		}
		if hdr, ok := parseFrameHeader(data[i:]); ok && hdr.seq > lastSeq {
			best, found = max(best, hdr.synced), true
		}
	}
	return best, found
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (s *Scanner) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	n := int(st.Size())
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// CutTail zeroes segment path from off to its end and fsyncs it, so a
// torn frame found at recovery is not met again.
func CutTail(path string, off uint32) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zeros := zeroChunk()
	for p := int64(off); p < st.Size(); {
		n := min(int64(len(zeros)), st.Size()-p)
		if _, err := f.WriteAt(zeros[:n], p); err != nil {
			return fmt.Errorf("cut torn tail of %s: %w", path, err)
		}
		p += n
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("cut torn tail of %s: fsync: %w", path, err)
	}
	return nil
}
