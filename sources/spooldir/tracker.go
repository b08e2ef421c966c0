package spooldir

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The position file is Flume's: <trackerDir>/.flumespool-main.meta, an Avro
// container file whose metadata "file" names the file being read and whose
// records {offset: long} are the committed positions, the last one winning.
// Flume and Sluice can take over each other's position file.
//
// Sluice appends one small block per committed batch (as Flume does) and
// never rewrites the file in place: a new file, or one grown past
// compactAt, is written to a temporary name, synced and renamed over it.
// A crash can only lose or tear the last append; the reader then uses the
// record before it, which re-reads one batch (duplicates, never loss).
// Appends are flushed to the disk at most once per syncEvery, because a
// sync per batch would cap a spool source at a few hundred batches per
// second; the operating system keeps them across a crash of the agent.
const (
	metaFileName = ".flumespool-main.meta"
	compactAt    = 1 << 20
	syncEvery    = time.Second
)

// Record schemas. The first is Flume's (TransferStateFileMeta, as Avro
// Java prints it). The second adds the number of records of an Avro block
// already delivered, for the AVRO deserializer; Flume reads such a file
// and ignores the extra field.
const (
	trackerSchema     = `{"type":"record","name":"TransferStateFileMeta","namespace":"org.apache.flume.serialization","fields":[{"name":"offset","type":"long"}]}`
	trackerSchemaSkip = `{"type":"record","name":"TransferStateFileMeta","namespace":"org.apache.flume.serialization","fields":[{"name":"offset","type":"long"},{"name":"sluiceSkip","type":"long","default":0}]}`
)

// Metadata keys Sluice adds: the identity of the file when it was picked up,
// to tell a changed or replaced file after a restart.
const (
	metaFile  = "file"
	metaIno   = "sluice.inode"
	metaDev   = "sluice.device"
	metaSize  = "sluice.size"
	metaMtime = "sluice.mtime"
)

// fileIdent is what a file looked like when it was picked up.
type fileIdent struct {
	dev, ino uint64
	size     int64
	mtime    int64 // Unix nanoseconds
}

// trackerState is the content of a position file.
type trackerState struct {
	target   string
	pos      position
	ident    fileIdent
	hasIdent bool
}

// loadTracker reads a position file. A missing file is os.ErrNotExist; an
// unreadable one is an error (the caller starts the file over).
func loadTracker(path string) (trackerState, error) {
	f, err := os.Open(path)
	if err != nil {
		return trackerState{}, err
	}
	defer f.Close()
	c := newCountingReader(f, 0)
	h, err := readHeader(c)
	if err != nil {
		return trackerState{}, err
	}
	st := trackerState{target: string(h.meta[metaFile])}
	if st.target == "" {
		return trackerState{}, errors.New("no \"file\" in its metadata")
	}
	if codec := string(h.meta["avro.codec"]); codec != "" && codec != "null" {
		return trackerState{}, fmt.Errorf("compressed with %q", codec)
	}
	fields, err := schemaFields(h.meta["avro.schema"])
	if err != nil {
		return trackerState{}, err
	}
	if v, err := strconv.ParseUint(string(h.meta[metaIno]), 10, 64); err == nil {
		st.ident.ino, st.hasIdent = v, true
		st.ident.dev, _ = strconv.ParseUint(string(h.meta[metaDev]), 10, 64)
		st.ident.size, _ = strconv.ParseInt(string(h.meta[metaSize]), 10, 64)
		st.ident.mtime, _ = strconv.ParseInt(string(h.meta[metaMtime]), 10, 64)
	}
	// Blocks until the end or the first damaged one (a torn last append).
	for {
		count, err := c.long()
		if err != nil {
			break
		}
		data, err := c.bytesField(1 << 20)
		if err != nil {
			break
		}
		var sync [syncSize]byte
		if c.full(sync[:]) != nil || sync != h.sync {
			break
		}
		for i := int64(0); i < count; i++ {
			var p position
			var ok bool
			if p.off, data, ok = takeLong(data); !ok {
				return st, nil
			}
			if fields == 2 {
				if p.skip, data, ok = takeLong(data); !ok {
					return st, nil
				}
			}
			st.pos = p
		}
	}
	return st, nil
}

// schemaFields checks a position record schema and returns its field count.
func schemaFields(schema []byte) (int, error) {
	var s struct {
		Fields []struct {
			Name string `json:"name"`
			Type any    `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		return 0, fmt.Errorf("record schema: %w", err)
	}
	ok := len(s.Fields) >= 1 && s.Fields[0].Name == "offset" && s.Fields[0].Type == "long"
	if len(s.Fields) == 2 {
		ok = ok && s.Fields[1].Name == "sluiceSkip" && s.Fields[1].Type == "long"
	}
	if !ok || len(s.Fields) > 2 {
		return 0, fmt.Errorf("record schema %s is not a position record", schema)
	}
	return len(s.Fields), nil
}

// tracker appends positions to an open position file.
type tracker struct {
	path     string
	f        *os.File
	sync     [syncSize]byte
	skip     bool
	size     int64
	lastSync time.Time
	st       trackerState
	buf      []byte
}

// createTracker writes a fresh position file for st (with its position as
// the one record when it is not the start) and opens it for appending.
func createTracker(path string, st trackerState, withSkip bool) (*tracker, error) {
	t := &tracker{path: path, skip: withSkip, st: st}
	if _, err := rand.Read(t.sync[:]); err != nil {
		return nil, err
	}
	schema := trackerSchema
	if withSkip {
		schema = trackerSchemaSkip
	}
	meta := map[string][]byte{
		"avro.schema": []byte(schema),
		"avro.codec":  []byte("null"),
		metaFile:      []byte(st.target),
	}
	keys := []string{"avro.schema", "avro.codec", metaFile}
	if st.hasIdent {
		meta[metaIno] = []byte(strconv.FormatUint(st.ident.ino, 10))
		meta[metaDev] = []byte(strconv.FormatUint(st.ident.dev, 10))
		meta[metaSize] = []byte(strconv.FormatInt(st.ident.size, 10))
		meta[metaMtime] = []byte(strconv.FormatInt(st.ident.mtime, 10))
		keys = append(keys, metaIno, metaDev, metaSize, metaMtime)
	}
	b := appendHeader(nil, keys, meta, t.sync)
	if st.pos != (position{}) {
		b = appendBlock(b, 1, t.record(nil, st.pos), t.sync)
	}
	if err := writeAtomic(path, b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	t.f, t.size, t.lastSync = f, int64(len(b)), time.Now()
	return t, nil
}

func (t *tracker) record(dst []byte, p position) []byte {
	dst = appendLong(dst, p.off)
	if t.skip {
		dst = appendLong(dst, p.skip)
	}
	return dst
}

// store appends a committed position.
func (t *tracker) store(p position) error {
	t.st.pos = p
	if t.size >= compactAt {
		nt, err := createTracker(t.path, t.st, t.skip)
		if err != nil {
			return err
		}
		t.f.Close()
		*t = *nt
		return nil
	}
	var rec [20]byte
	t.buf = appendBlock(t.buf[:0], 1, t.record(rec[:0], p), t.sync)
	if _, err := t.f.Write(t.buf); err != nil {
		return err
	}
	t.size += int64(len(t.buf))
	if time.Since(t.lastSync) >= syncEvery {
		t.lastSync = time.Now()
		return t.f.Sync()
	}
	return nil
}

// close syncs and closes the file.
func (t *tracker) close() error {
	if t == nil || t.f == nil {
		return nil
	}
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
	return err
}

// writeAtomic replaces path with b: temporary file, sync, rename, sync of
// the directory.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// takeLong decodes a zig-zag varint from the front of b.
func takeLong(b []byte) (int64, []byte, bool) {
	u, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return int64(u>>1) ^ -int64(u&1), b[n:], true
}
