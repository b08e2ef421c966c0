package spooldir

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// candidate is a file that may be read next.
type candidate struct {
	path  string // spoolDir (as configured) joined with rel
	rel   string
	name  string
	mtime int64 // milliseconds, the resolution Flume compares
}

// quarantined matches the names Sluice gives files it moves aside; they
// are never read again.
var quarantined = regexp.MustCompile(`\.QUARANTINED-\d{8}T\d{6}Z(-\d+)?$`)

// scan lists the files that may be read, as Flume's candidate rules say:
// not hidden, not completed, not marked in the tracker directory, matching
// includePattern and not ignorePattern; subdirectories only when recursive
// (and then not hidden or ignored ones). Files Sluice set aside for a while
// (unreadable) are left out until their time comes.
func (s *Source) scan() []candidate {
	var markers map[string]bool
	if s.trackInDir {
		markers = s.trackerMarkers()
	}
	now := time.Now()
	var out []candidate
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == s.dir {
				return err
			}
			s.log.Warn("spooldir: cannot list a directory; skipping it", "path", p, "err", err)
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p == s.dir {
				return nil
			}
			if !s.cfg.RecursiveDirectorySearch || strings.HasPrefix(name, ".") ||
				s.ignore.MatchString(name) || p == s.trackerDir {
				return filepath.SkipDir
			}
			s.watchDir(p)
			return nil
		}
		if strings.HasSuffix(name, s.cfg.FileSuffix) || strings.HasPrefix(name, ".") ||
			s.ignore.MatchString(name) || quarantined.MatchString(name) {
			return nil
		}
		if !s.include.MatchString(name) {
			s.skipped(p, name)
			return nil
		}
		info, err := os.Stat(p) // follows a symbolic link to the file it names
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return nil
		}
		if markers[rel] {
			return nil
		}
		if until, ok := s.setAside[p]; ok {
			if now.Before(until) {
				return nil
			}
			delete(s.setAside, p)
		}
		out = append(out, candidate{path: p, rel: rel, name: name, mtime: info.ModTime().UnixMilli()})
		return nil
	})
	if err != nil {
		s.counters.GenericProcessingFail.Add(1)
		s.warnOnce("list", "spooldir: cannot list the spool directory", "dir", s.dir, "err", err)
	}
	return out
}

// trackerMarkers lists the files tracker_dir marked complete, by their
// path relative to the spool directory.
func (s *Source) trackerMarkers() map[string]bool {
	m := map[string]bool{}
	_ = filepath.WalkDir(s.trackerDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), s.cfg.FileSuffix) {
			return nil
		}
		if rel, err := filepath.Rel(s.trackerDir, p); err == nil {
			m[strings.TrimSuffix(rel, s.cfg.FileSuffix)] = true
		}
		return nil
	})
	return m
}

// pick chooses the next file per consumeOrder: the oldest or youngest by
// modification time, ties going to the smaller name; or any, at random.
func (s *Source) pick(cands []candidate) (candidate, bool) {
	if len(cands) == 0 {
		return candidate{}, false
	}
	switch s.order {
	case "random":
		return cands[rand.IntN(len(cands))], true
	case "youngest":
		best := cands[0]
		for _, c := range cands[1:] {
			if c.mtime > best.mtime || (c.mtime == best.mtime && c.name < best.name) {
				best = c
			}
		}
		return best, true
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.mtime < best.mtime || (c.mtime == best.mtime && c.name < best.name) {
			best = c
		}
	}
	return best, true
}
