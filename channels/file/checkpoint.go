package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluiceio/sluice/internal/wal"
)

// A checkpoint is the queue at one moment, with the log position of every
// data directory at that moment: recovery loads it and replays only the
// log after those positions. Layout (little-endian):
//
//	magic "SLCKPT01" | version u32 | next txn u64 | next segment id u32 |
//	positions: count u32, then (segment u32, offset u32, next frame seq u64) |
//	segments:  count u32, then (id u32, ref count u32, refs u32...) |
//	entries:   count u64, then (pointer u64, record size u32) |
//	crc32c u32 of everything before it
//
// It is written to a temporary file, fsync'd and renamed over the old one,
// so a crash leaves either the old checkpoint or the new one.
const (
	checkpointFile = "checkpoint"
	ckptVersion    = 1
)

var ckptMagic = []byte("SLCKPT01")

type ckEntry struct {
	ptr  wal.Ptr
	size uint32
}

type checkpoint struct {
	nextTxn   uint64
	nextSeg   uint32
	positions []wal.Position
	refs      map[uint32][]uint32 // segment id -> segments it holds takes of
	entries   []ckEntry
}

func (ck *checkpoint) encode() []byte {
	n := 8 + 4 + 8 + 4 + 4 + 16*len(ck.positions) + 4 + 12*len(ck.entries) + 8 + 4
	for _, r := range ck.refs {
		n += 8 + 4*len(r)
	}
	b := make([]byte, 0, n)
	b = append(b, ckptMagic...)
	b = binary.LittleEndian.AppendUint32(b, ckptVersion)
	b = binary.LittleEndian.AppendUint64(b, ck.nextTxn)
	b = binary.LittleEndian.AppendUint32(b, ck.nextSeg)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ck.positions)))
	for _, p := range ck.positions {
		b = binary.LittleEndian.AppendUint32(b, p.Seg)
		b = binary.LittleEndian.AppendUint32(b, p.Off)
		b = binary.LittleEndian.AppendUint64(b, p.Seq)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ck.refs)))
	for id, r := range ck.refs {
		b = binary.LittleEndian.AppendUint32(b, id)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		for _, x := range r {
			b = binary.LittleEndian.AppendUint32(b, x)
		}
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(ck.entries)))
	for _, e := range ck.entries {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.ptr))
		b = binary.LittleEndian.AppendUint32(b, e.size)
	}
	return binary.LittleEndian.AppendUint32(b, wal.Checksum(b))
}

var errCkptShort = errors.New("cut short")

// decodeCheckpoint parses and verifies a checkpoint file's contents.
func decodeCheckpoint(b []byte) (*checkpoint, error) {
	if len(b) < len(ckptMagic)+8 || string(b[:len(ckptMagic)]) != string(ckptMagic) {
		return nil, errors.New("not a sluice file-channel checkpoint")
	}
	body := b[:len(b)-4]
	if wal.Checksum(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, wal.ErrChecksum
	}
	r := reader{b: body[len(ckptMagic):]}
	if v := r.u32(); v != ckptVersion {
		return nil, fmt.Errorf("checkpoint format version %d, this build reads %d", v, ckptVersion)
	}
	ck := &checkpoint{nextTxn: r.u64(), nextSeg: r.u32(), refs: map[uint32][]uint32{}}
	np := r.count(16)
	for i := 0; i < np; i++ {
		ck.positions = append(ck.positions, wal.Position{Seg: r.u32(), Off: r.u32(), Seq: r.u64()})
	}
	ns := r.count(8)
	for i := 0; i < ns; i++ {
		id := r.u32()
		nr := r.count(4)
		refs := make([]uint32, nr)
		for j := range refs {
			refs[j] = r.u32()
		}
		ck.refs[id] = refs
	}
	ne := int(r.u64())
	if r.err == nil && ne > len(r.b)/12 {
		r.err = errCkptShort
	}
	if r.err == nil {
		ck.entries = make([]ckEntry, ne)
		for i := range ck.entries {
			ck.entries[i] = ckEntry{ptr: wal.Ptr(r.u64()), size: r.u32()}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes left over", len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("malformed checkpoint: %w", r.err)
	}
	return ck, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errCkptShort
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }

// count reads a u32 count of items of at least size bytes each, refusing
// counts the remaining bytes cannot hold.
func (r *reader) count(size int) int {
	n := int(r.u32())
	if r.err == nil && n > len(r.b)/size {
		r.err = errCkptShort
		return 0
	}
	return n
}

// writeCheckpoint replaces dir/checkpoint with data, durably.
func writeCheckpoint(dir string, data []byte) error {
	final := filepath.Join(dir, checkpointFile)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp) // a full disk: do not leave half a checkpoint taking space
		return fmt.Errorf("write %s (%d bytes): %w", tmp, len(data), withFree(dir, err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("fsync %s: %w", tmp, withFree(dir, err))
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return wal.SyncDir(dir)
}

// readCheckpoint loads dir/checkpoint; os.ErrNotExist when there is none.
func readCheckpoint(dir string) (*checkpoint, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		return nil, err
	}
	return decodeCheckpoint(b)
}
