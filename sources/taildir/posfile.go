package taildir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// posEntry is one element of Flume's position file:
// [{"inode":1234,"pos":5678,"file":"/var/log/app.log"}].
type posEntry struct {
	Inode uint64 `json:"inode"`
	Pos   int64  `json:"pos"`
	File  string `json:"file"`
}

// loadPositions reads a position file. A missing or empty file has no
// entries; an entry without one of its three values is an error, as in
// Flume.
func loadPositions(path string) ([]posEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(bytes.TrimSpace(b)) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a position file: %w", err)
	}
	out := make([]posEntry, 0, len(raw))
	for i, m := range raw {
		var e posEntry
		ino, okI := m["inode"]
		pos, okP := m["pos"]
		file, okF := m["file"]
		if !okI || !okP || !okF {
			return nil, fmt.Errorf("entry %d lacks inode, pos or file", i+1)
		}
		if json.Unmarshal(ino, &e.Inode) != nil || json.Unmarshal(pos, &e.Pos) != nil || json.Unmarshal(file, &e.File) != nil || e.Pos < 0 {
			return nil, fmt.Errorf("entry %d has a bad inode, pos or file", i+1)
		}
		out = append(out, e)
	}
	return out, nil
}

// writePositions replaces the position file atomically: a temporary file
// in the same directory, synced, then renamed over it. Flume rewrites the
// file in place, which a crash can leave empty or cut.
func writePositions(path string, entries []posEntry) error {
	if entries == nil {
		entries = []posEntry{}
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
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
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// checkWritable fails when the position file could not be written: its
// directory (or the nearest existing parent, as it is created on the first
// write) must be a writable directory.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%q is a directory", path)
	}
	dir := filepath.Dir(path)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%q is not a directory", dir)
			}
			if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
				return fmt.Errorf("directory %q is not writable: %w", dir, err)
			}
			return nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		dir = parent
	}
}
