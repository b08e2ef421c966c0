package taildir

import (
	"os"
	"path/filepath"
	"slices"
	"time"
)

// update brings the followed files in line with what the groups match now:
// new files are opened, renamed ones followed (same inode), truncated ones
// read again from the start, closed ones with new content reopened, and
// files that no longer match are drained through their open descriptor.
func (s *Source) update(initial bool) {
	s.markStale()
	seen := map[fileKey]bool{}
	for _, g := range s.groups {
		s.watchDir(g.dir)
		for _, name := range s.list(g) {
			p := filepath.Join(g.dir, name)
			fi, err := os.Stat(p)
			if err != nil || fi.IsDir() {
				continue
			}
			k := keyOf(fi)
			if seen[k] {
				continue // matched by an earlier group (or a second link)
			}
			seen[k] = true
			s.match(g, p, k, fi, initial)
		}
	}
	for k, t := range s.files {
		if seen[k] {
			continue
		}
		if !t.orphan {
			t.orphan = true
			old := t.path
			s.findNewName(t)
			if t.f == nil {
				delete(s.files, k)
				s.dirty = true
				continue
			}
			s.log.Info("taildir: file no longer matches its group (renamed or deleted); reading what is left of it until it is idle",
				"file", old, "now", t.path, "inode", k.ino)
			s.recordNow()
		}
		if t.f == nil {
			delete(s.files, k)
			s.dirty = true
			continue
		}
		if fi, err := t.f.Stat(); err == nil {
			t.size, t.mtime = fi.Size(), fi.ModTime()
			if fi.Size() < t.rd {
				s.restart(t, "shrank below its position")
			}
		}
	}
}

// match handles one matching file.
func (s *Source) match(g *group, p string, k fileKey, fi os.FileInfo, initial bool) {
	t := s.files[k]
	if t != nil && t.path != p && t.f == nil {
		// Closed, and now under another name: the inode may have been
		// reused by a new file. The same bytes before the position mean
		// the same file.
		t.path = p
		if err := t.openFD(); err != nil || t.pos > fi.Size() || !t.sameContent() {
			t.close()
			delete(s.files, k)
			t = nil
		}
	}
	if t == nil {
		t = &tailFile{key: k, path: p, group: g}
		start := int64(0)
		if e, ok := s.loaded[k.ino]; ok && e.File == p {
			delete(s.loaded, k.ino)
			start = e.Pos
			if start > fi.Size() {
				s.log.Info("taildir: position beyond the end of the file (truncated while stopped); reading it from the start",
					"file", p, "inode", k.ino, "pos", start, "size", fi.Size())
				start = 0
			}
		} else if initial && s.cfg.SkipToEnd {
			start = fi.Size()
		}
		if err := t.open(start); err != nil {
			s.warnOnce("open:"+p, "taildir: cannot open a matching file; trying again on the next poll", "file", p, "err", err)
			return
		}
		s.files[k] = t
		s.recordNow()
		s.log.Info("taildir: following file", "file", p, "inode", k.ino, "pos", start, "group", g.name)
	} else if t.path != p {
		s.log.Info("taildir: followed a renamed file", "from", t.path, "to", p, "inode", k.ino, "pos", t.pos)
		t.path = p
		s.dirty = true
	}
	t.orphan = false
	grew := fi.Size() != t.size || !fi.ModTime().Equal(t.mtime)
	t.size, t.mtime = fi.Size(), fi.ModTime()
	if t.f == nil {
		if !grew && fi.Size() == t.pos {
			return
		}
		if err := t.openFD(); err != nil {
			return
		}
		if t.pos > fi.Size() || !t.sameContent() {
			s.restart(t, "changed while it was closed (truncated or rewritten)")
		}
		return
	}
	if fi.Size() < t.rd {
		s.restart(t, "shrank below its position (truncated, as copytruncate does)")
	}
}

// recordNow has the position file written at the next chance rather than
// after writePosInterval: a file the source follows from now on (or under a
// new name) is then known after a crash, even if it is rotated away while
// the agent is down before it would have been recorded.
func (s *Source) recordNow() {
	s.dirty = true
	s.lastWrite = time.Time{}
}

// list returns the names in g's directory that match its pattern. With
// cachePatternMatching the listing is kept until the directory changes
// (its modification time, as Flume checks, or a notification).
func (s *Source) list(g *group) []string {
	key := g.dir + "\x00" + g.name
	c := s.listings[key]
	fi, err := os.Stat(g.dir)
	if err != nil {
		delete(s.listings, key)
		return nil
	}
	now := time.Now()
	if s.cfg.CachePatternMatching && c != nil && !c.stale && !fi.ModTime().After(c.mtime) &&
		fi.ModTime().Truncate(time.Second).Before(c.checked.Truncate(time.Second)) {
		return c.names
	}
	entries, err := os.ReadDir(g.dir)
	if err != nil {
		s.warnOnce("list:"+g.dir, "taildir: cannot list a directory", "dir", g.dir, "err", err)
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && g.re.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	s.listings[key] = &listing{mtime: fi.ModTime(), checked: now, names: names}
	return names
}

// markStale drops cached listings of directories that notifications say
// changed.
func (s *Source) markStale() {
	for {
		select {
		case dir := <-s.changed:
			for k, l := range s.listings {
				if dir == "" || hasDirPrefix(k, dir) {
					l.stale = true
				}
			}
		default:
			return
		}
	}
}

func hasDirPrefix(key, dir string) bool {
	return len(key) > len(dir) && key[:len(dir)] == dir && key[len(dir)] == 0
}

// watchDir asks for notifications about dir once it exists.
func (s *Source) watchDir(dir string) {
	if s.watcher == nil || s.watched[dir] {
		return
	}
	if _, err := os.Stat(dir); err != nil {
		return
	}
	if err := s.watcher.Add(dir); err != nil {
		s.warnOnce("watch:"+dir, "taildir: cannot watch a directory; polling it", "dir", dir, "err", err)
		return
	}
	s.watched[dir] = true
}

// findNewName looks for a file that left its group under another name in
// the same directory (rotation by rename), so the position file names it.
func (s *Source) findNewName(t *tailFile) {
	dir := filepath.Dir(t.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if keyOf(fi) == t.key {
			t.path = filepath.Join(dir, e.Name())
			return
		}
	}
}

// takeOverOrphans resumes files the position file names that no longer
// match their group (rotated away before a restart), so their last lines
// are not lost: under the recorded name when it still holds the recorded
// inode, else wherever that inode now lives in the watched directories (a
// rotation by rename while the agent was stopped, perhaps several times:
// app.log → app.log.1 → app.log.2). readAll reads these before the files
// that replaced them.
func (s *Source) takeOverOrphans() {
	for ino, e := range s.loaded {
		path, fi := s.locate(ino, e.File)
		if fi == nil {
			s.log.Info("taildir: position file names a file that is gone", "file", e.File, "inode", ino, "pos", e.Pos)
			continue
		}
		k := keyOf(fi)
		if s.files[k] != nil || fi.Size() <= e.Pos {
			continue
		}
		t := &tailFile{key: k, path: path, group: s.groupOf(e.File), orphan: true}
		if err := t.open(e.Pos); err != nil {
			continue
		}
		t.size, t.mtime = fi.Size(), fi.ModTime()
		s.files[k] = t
		s.dirty = true
		if path != e.File {
			s.log.Info("taildir: reading the rest of a file renamed while the agent was stopped",
				"file", path, "was", e.File, "inode", ino, "pos", e.Pos)
			continue
		}
		s.log.Info("taildir: reading the rest of a file that no longer matches its group", "file", e.File, "inode", ino, "pos", e.Pos)
	}
	s.loaded = nil
}

// locate finds the regular file with inode ino: at path when it is still
// there, else under any name in path's directory or a group's directory.
// An inode can only be told from a reused one by its size (at least the
// recorded position, checked by the caller), as the position file keeps
// nothing else; Flume does not look at all and loses the rest.
func (s *Source) locate(ino uint64, path string) (string, os.FileInfo) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && keyOf(fi).ino == ino {
		return path, fi
	}
	dirs := []string{filepath.Dir(path)}
	for _, g := range s.groups {
		if !slices.Contains(dirs, g.dir) {
			dirs = append(dirs, g.dir)
		}
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err == nil && keyOf(fi).ino == ino {
				return filepath.Join(dir, e.Name()), fi
			}
		}
	}
	return "", nil
}

// groupOf finds the group whose directory holds path (for its headers),
// or the first group.
func (s *Source) groupOf(path string) *group {
	for _, g := range s.groups {
		if g.dir == filepath.Dir(path) {
			return g
		}
	}
	return s.groups[0]
}
