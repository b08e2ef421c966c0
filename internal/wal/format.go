// Package wal is the file channel's write-ahead log: segment files of
// checksummed records, appended in frames by one group-commit writer per
// directory, and scanned back at start-up with torn-tail and corruption
// detection.
//
// Segment layout (all integers little-endian):
//
//	header  32 bytes: magic "SLCWAL01" | version u32 | segment id u32 |
//	        reserved 12 | crc32c u32 of the 28 bytes before it
//	frames  one per group commit (one write syscall):
//	        magic u32 | payload length u32 | frame seq u64 |
//	        synced u32 | crc32c u32 of the 20 bytes before it | records
//	zeros   the rest of the preallocated file, never written
//
// A record is crc32c u32 (of everything after it) | length u32 (bytes
// after this field) | type u8 | body. "synced" is the offset in the same
// segment below which everything was fsync'd when the frame was written:
// recovery uses it to tell a torn tail (a frame that was never durable)
// from damage to data a caller was told was safe.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// HeaderSize is the size of a segment header; the first frame starts here.
	HeaderSize = 32
	// FrameHeaderSize is the size of a frame header.
	FrameHeaderSize = 24
	// RecordHeaderSize is crc + length + type.
	RecordHeaderSize = 9

	frameMagic = 0x46574c53 // "SLWF" read little-endian
	version    = 1
)

var segMagic = [8]byte{'S', 'L', 'C', 'W', 'A', 'L', '0', '1'}

// Record types.
const (
	RecPut    byte = 1 // body: one event
	RecTake   byte = 2 // body: count u32, then count pointers u64
	RecCommit byte = 3 // body: kind u8 (RecPut or RecTake), count u32, txn u64
)

// CommitBodySize is the body size of a commit record.
const CommitBodySize = 1 + 4 + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is CRC32C, hardware-accelerated on amd64 and arm64.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Ptr locates a record: segment id in the high 32 bits, offset in the low.
type Ptr uint64

// MakePtr packs a segment id and offset.
func MakePtr(seg, off uint32) Ptr { return Ptr(uint64(seg)<<32 | uint64(off)) }

// Seg is the segment id.
func (p Ptr) Seg() uint32 { return uint32(p >> 32) }

// Off is the offset of the record in its segment.
func (p Ptr) Off() uint32 { return uint32(p) }

func (p Ptr) String() string { return fmt.Sprintf("%s@%d", SegmentName(p.Seg()), p.Off()) }

// BeginRecord appends a record header of the given type to b and returns
// the extended slice and the position of the header, for EndRecord.
func BeginRecord(b []byte, typ byte) ([]byte, int) {
	at := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return b, at
}

// EndRecord fills in the length and checksum of the record begun at at.
func EndRecord(b []byte, at int) {
	binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)-at-8))
	binary.LittleEndian.PutUint32(b[at:], Checksum(b[at+4:]))
}

// AppendCommit appends a commit record.
func AppendCommit(b []byte, kind byte, count int, txn uint64) []byte {
	b, at := BeginRecord(b, RecCommit)
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint32(b, uint32(count))
	b = binary.LittleEndian.AppendUint64(b, txn)
	EndRecord(b, at)
	return b
}

// AppendTake appends a take record listing ptrs.
func AppendTake(b []byte, ptrs []Ptr) []byte {
	b, at := BeginRecord(b, RecTake)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ptrs)))
	for _, p := range ptrs {
		b = binary.LittleEndian.AppendUint64(b, uint64(p))
	}
	EndRecord(b, at)
	return b
}

// ErrChecksum marks a record or frame whose checksum does not match.
var ErrChecksum = errors.New("checksum mismatch")

// Record is one decoded record: its type and body (aliasing the buffer it
// was read from) and its total size on disk.
type Record struct {
	Type byte
	Body []byte
	Size int
}

// ParseRecord decodes the record at the start of b, checking its checksum.
func ParseRecord(b []byte) (Record, error) {
	if len(b) < RecordHeaderSize {
		return Record{}, fmt.Errorf("record header cut short (%d bytes)", len(b))
	}
	n := int(binary.LittleEndian.Uint32(b[4:]))
	if n < 1 || n > len(b)-8 {
		return Record{}, fmt.Errorf("record length %d does not fit in the %d bytes left", n, len(b)-8)
	}
	if Checksum(b[4:8+n]) != binary.LittleEndian.Uint32(b) {
		return Record{}, fmt.Errorf("record: %w", ErrChecksum)
	}
	return Record{Type: b[8], Body: b[9 : 8+n], Size: 8 + n}, nil
}

// Commit is a decoded commit record.
type Commit struct {
	Kind  byte
	Count int
	Txn   uint64
}

// ParseCommit decodes a commit record's body.
func ParseCommit(body []byte) (Commit, error) {
	if len(body) != CommitBodySize || (body[0] != RecPut && body[0] != RecTake) {
		return Commit{}, errors.New("malformed commit record")
	}
	return Commit{Kind: body[0], Count: int(binary.LittleEndian.Uint32(body[1:])), Txn: binary.LittleEndian.Uint64(body[5:])}, nil
}

// ParseTake decodes a take record's body into ptrs (appended to dst).
func ParseTake(dst []Ptr, body []byte) ([]Ptr, error) {
	if len(body) < 4 {
		return dst, errors.New("malformed take record")
	}
	n := int(binary.LittleEndian.Uint32(body))
	if len(body) != 4+8*n {
		return dst, errors.New("malformed take record: count does not match length")
	}
	for i := 0; i < n; i++ {
		dst = append(dst, Ptr(binary.LittleEndian.Uint64(body[4+8*i:])))
	}
	return dst, nil
}

func appendSegHeader(b []byte, id uint32) []byte {
	b = append(b, segMagic[:]...)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = append(b, make([]byte, 12)...)
	return binary.LittleEndian.AppendUint32(b, Checksum(b[len(b)-28:]))
}

func checkSegHeader(b []byte, id uint32) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("segment header cut short (%d bytes)", len(b))
	}
	if [8]byte(b[:8]) != segMagic {
		return errors.New("not a sluice file-channel segment (bad magic)")
	}
	if Checksum(b[:28]) != binary.LittleEndian.Uint32(b[28:]) {
		return fmt.Errorf("segment header: %w", ErrChecksum)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return fmt.Errorf("segment format version %d, this build reads %d", v, version)
	}
	if got := binary.LittleEndian.Uint32(b[12:]); got != id {
		return fmt.Errorf("segment header says id %d, its name says %d", got, id)
	}
	return nil
}

func putFrameHeader(b []byte, payload int, seq uint64, synced uint32) {
	binary.LittleEndian.PutUint32(b, frameMagic)
	binary.LittleEndian.PutUint32(b[4:], uint32(payload))
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint32(b[16:], synced)
	binary.LittleEndian.PutUint32(b[20:], Checksum(b[:20]))
}

type frameHeader struct {
	payload int
	seq     uint64
	synced  uint32
}

// parseFrameHeader reports whether b starts with an intact frame header.
func parseFrameHeader(b []byte) (frameHeader, bool) {
	if len(b) < FrameHeaderSize || binary.LittleEndian.Uint32(b) != frameMagic ||
		Checksum(b[:20]) != binary.LittleEndian.Uint32(b[20:]) {
		return frameHeader{}, false
	}
	return frameHeader{
		payload: int(binary.LittleEndian.Uint32(b[4:])),
		seq:     binary.LittleEndian.Uint64(b[8:]),
		synced:  binary.LittleEndian.Uint32(b[16:]),
	}, true
}
