package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

const (
	segPrefix  = "log-"
	prepSuffix = ".prep"
)

// SegmentName is the file name of segment id.
func SegmentName(id uint32) string { return fmt.Sprintf("%s%010d", segPrefix, id) }

// SegmentFile is a segment found on disk.
type SegmentFile struct {
	ID   uint32
	Path string
}

// ListSegments returns dir's segments in id order, and the largest id in
// use there, prepared segments (never used: their names still end in
// .prep) included, so that no id is reused. With removePrepared, those are
// deleted: recovery does that before writers start.
func ListSegments(dir string, removePrepared bool) (segs []SegmentFile, maxID uint32, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, segPrefix) || e.IsDir() {
			continue
		}
		rest, prep := strings.CutSuffix(name[len(segPrefix):], prepSuffix)
		id, perr := strconv.ParseUint(rest, 10, 32)
		if perr != nil {
			continue
		}
		maxID = max(maxID, uint32(id))
		if prep {
			if !removePrepared {
				continue
			}
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, 0, fmt.Errorf("remove unused segment: %w", err)
			}
			continue
		}
		segs = append(segs, SegmentFile{ID: uint32(id), Path: filepath.Join(dir, name)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].ID < segs[j].ID })
	return segs, maxID, nil
}

// SyncDir fsyncs a directory, making file creations, renames and removals
// in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// zeroChunk is the write used to preallocate segments, allocated on first
// use: agents without a file channel need not carry it.
var zeroChunk = sync.OnceValue(func() []byte { return make([]byte, 1<<20) })

// prepare creates segment id under its .prep name: header, then zeros up
// to size, all fsync'd. Writing real zeros (rather than fallocate) means
// later overwrites do not have to convert unwritten extents, which
// measured about twice as fast per fsync on ext4, and it makes "never
// written" read as zeros, which recovery relies on.
func prepare(dir string, id uint32, size int64) (string, error) {
	path := filepath.Join(dir, SegmentName(id)+prepSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("prepare segment %s: %w", path, err)
	}
	if _, err := f.Write(appendSegHeader(nil, id)); err != nil {
		return fail(err)
	}
	zeros := zeroChunk()
	for off := int64(HeaderSize); off < size; {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.Write(zeros[:n]); err != nil {
			return fail(err)
		}
		off += n
	}
	if err := datasync(f); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return path, nil
}

// activate renames a prepared segment to its final name and makes the
// rename durable.
func activate(dir, prepPath string, id uint32) (*os.File, error) {
	final := filepath.Join(dir, SegmentName(id))
	if err := os.Rename(prepPath, final); err != nil {
		return nil, fmt.Errorf("activate segment: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		return nil, err
	}
	return os.OpenFile(final, os.O_RDWR, 0)
}
