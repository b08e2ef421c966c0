package spooldir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// next picks the next file and opens it; nil when none is waiting. The
// file the position file names comes first, so a restart resumes it.
func (s *Source) next() *current {
	cands := s.scan()
	if st := s.resume; st != nil {
		s.resume = nil
		for i, c := range cands {
			if samePath(c.path, st.target) {
				if cur := s.open(c, st); cur != nil {
					return cur
				}
				cands = append(cands[:i], cands[i+1:]...)
				break
			}
		}
		if s.tr == nil && s.diskFull {
			s.resume = st // the position file stays: resume once there is space
			return nil
		}
		if s.tr == nil {
			s.log.Info("spooldir: the position file names a file that is no longer waiting; starting afresh",
				"file", st.target)
			os.Remove(s.metaPath)
		}
	}
	cands = s.settled(cands)
	for len(cands) > 0 {
		c, _ := s.pick(cands)
		for i := range cands {
			if cands[i].path == c.path {
				cands = append(cands[:i], cands[i+1:]...)
				break
			}
		}
		if taken := s.completedName(c); taken != "" {
			if _, err := os.Lstat(taken); err == nil {
				s.quarantine(c.path, fmt.Sprintf("its completed name %s already exists (a file of the same name was read before), so it was not read", taken))
				continue
			}
		}
		if cur := s.open(c, nil); cur != nil {
			return cur
		}
	}
	return nil
}

func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// settled leaves out files that may still be being written: modified less
// than pollDelay ago, unless an earlier scan saw them unchanged at least
// pollDelay ago (which also lets files with a future time through).
func (s *Source) settled(cands []candidate) []candidate {
	now := time.Now()
	settle := s.cfg.PollDelay
	seen := make(map[string]seenFile, len(cands))
	out := cands[:0]
	for _, c := range cands {
		fi, err := os.Stat(c.path)
		if err != nil {
			continue
		}
		cur := seenFile{size: fi.Size(), mtime: fi.ModTime(), at: now}
		prev, ok := s.seen[c.path]
		if ok && prev.size == cur.size && prev.mtime.Equal(cur.mtime) {
			cur.at = prev.at
		}
		seen[c.path] = cur
		if now.Sub(cur.mtime) >= settle || now.Sub(cur.at) >= settle {
			out = append(out, c)
		}
	}
	s.seen = seen
	return out
}

// completedName is the name a file gets when done (rename policy), or "".
func (s *Source) completedName(c candidate) string {
	if s.deleteNow || s.trackInDir {
		return ""
	}
	return c.path + s.cfg.FileSuffix
}

// open opens a file for reading, from the position st names when resuming,
// and starts its position file. Problems are logged and the file left
// alone (or quarantined); nil means try another file.
func (s *Source) open(c candidate, st *trackerState) *current {
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // gone since the scan
	}
	if err != nil {
		s.setAside[c.path] = time.Now().Add(setAsideFor)
		s.counters.GenericProcessingFail.Add(1)
		s.log.Error("spooldir: cannot open a file; trying it again later", "file", c.path, "err", err, "retry_in", setAsideFor)
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		s.setAside[c.path] = time.Now().Add(setAsideFor)
		s.log.Error("spooldir: cannot stat a file; trying it again later", "file", c.path, "err", err)
		return nil
	}
	now := statIdent(fi)
	ident := now
	var pos position
	if st != nil {
		pos = st.pos
		if st.hasIdent {
			if why := changed(st.ident, now); why != "" {
				f.Close()
				s.dropTracker()
				s.quarantine(c.path, why+" while the agent was stopped, after its first "+
					fmt.Sprint(pos.off)+" bytes were delivered; the rest was not read")
				return nil
			}
			ident = st.ident
		}
		if pos.off > now.size {
			f.Close()
			s.dropTracker()
			s.quarantine(c.path, fmt.Sprintf("shrank to %d bytes while the agent was stopped, below the %d bytes already delivered", now.size, pos.off))
			return nil
		}
		s.log.Info("spooldir: resuming a file", "file", c.path, "offset", pos.off, "records_into_block", pos.skip)
	}
	des, err := openDeserializer(s.opts, s.in, s.policy, f, pos)
	if err != nil {
		f.Close()
		var ce *contentError
		if errors.As(err, &ce) {
			s.dropTracker()
			s.quarantine(c.path, fmt.Sprintf("cannot be read: %v", err))
			return nil
		}
		s.setAside[c.path] = time.Now().Add(setAsideFor)
		s.log.Error("spooldir: cannot start reading a file; trying it again later", "file", c.path, "err", err)
		return nil
	}
	s.tr.close()
	tr, err := createTracker(s.metaPath, trackerState{target: c.path, pos: pos, ident: ident, hasIdent: true}, s.opts.kind == desAvro)
	if err != nil && isNoSpace(err) {
		// Not the file's fault: it waits, and the next poll tries again.
		des.close()
		s.tr = nil
		s.noSpace(err)
		return nil
	}
	if err != nil {
		des.close()
		s.tr = nil
		s.setAside[c.path] = time.Now().Add(setAsideFor)
		s.counters.GenericProcessingFail.Add(1)
		s.log.Error("spooldir: cannot write the position file, so the file is not read (a restart would read it again from the start)",
			"file", c.path, "position_file", s.metaPath, "err", err, "retry_in", setAsideFor)
		return nil
	}
	s.tr = tr
	s.spaceBack()
	if st == nil {
		s.log.Info("spooldir: reading a file", "file", c.path, "bytes", now.size)
	}
	return &current{candidate: c, des: des, ident: ident, fresh: pos == position{}}
}

// dropTracker closes and removes the position file.
func (s *Source) dropTracker() {
	s.tr.close()
	s.tr = nil
	os.Remove(s.metaPath)
}

// complete checks that the file was not changed while it was read, then
// renames, marks or deletes it as configured. A changed file, or one whose
// completed name is taken, is quarantined instead (Flume stops the source
// for good in both cases).
func (s *Source) complete(c *current) {
	c.des.close()
	s.cur = nil
	delivered := c.des.pos().off
	fi, err := os.Stat(c.path)
	if err != nil {
		s.dropTracker()
		s.log.Warn("spooldir: file disappeared before it could be completed; its content was delivered",
			"file", c.path, "err", err)
		return
	}
	var reason string
	if why := changed(c.ident, statIdent(fi)); why != "" {
		reason = fmt.Sprintf("%s after it was picked up; its first %d bytes were delivered", why, delivered)
	}
	if reason != "" {
		s.dropTracker()
		s.quarantine(c.path, reason)
		return
	}
	switch {
	case s.deleteNow:
		if err := os.Remove(c.path); err != nil {
			s.failComplete(c, "delete it", err)
			return
		}
		s.log.Info("spooldir: file completed and deleted", "file", c.path)
	case s.trackInDir:
		marker := filepath.Join(s.trackerDir, c.rel+s.cfg.FileSuffix)
		if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
			s.failComplete(c, "create its tracker_dir marker", err)
			return
		}
		f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) {
			s.dropTracker()
			s.quarantine(c.path, fmt.Sprintf("its tracker_dir marker %s already exists (a file of the same name was read before); its content was delivered", marker))
			return
		}
		if err != nil {
			s.failComplete(c, "create its tracker_dir marker", err)
			return
		}
		f.Close()
		s.log.Info("spooldir: file completed", "file", c.path, "marker", marker)
	default:
		dest := c.path + s.cfg.FileSuffix
		if _, err := os.Lstat(dest); err == nil {
			s.dropTracker()
			s.quarantine(c.path, fmt.Sprintf("its completed name %s appeared while it was read; its content was delivered", dest))
			return
		}
		if err := os.Rename(c.path, dest); err != nil {
			s.failComplete(c, "rename it to "+dest, err)
			return
		}
		s.log.Info("spooldir: file completed", "file", c.path, "renamed_to", dest)
	}
	s.dropTracker()
}

// failComplete handles a completed file that cannot be renamed, marked or
// deleted: it is not read again while the agent runs (a restart would read
// it again, as it is still waiting).
func (s *Source) failComplete(c *current, what string, err error) {
	s.dropTracker()
	s.counters.GenericProcessingFail.Add(1)
	s.setAside[c.path] = time.Now().Add(100 * 365 * 24 * time.Hour)
	s.log.Error("spooldir: file read completely but cannot "+what+"; it is left alone until a restart, which would read it again",
		"file", c.path, "err", err)
}

// changed says how a file differs from what it was at pickup, or "".
func changed(then, now fileIdent) string {
	switch {
	case now.ino != then.ino || now.dev != then.dev:
		return "was replaced by another file"
	case now.size != then.size:
		return fmt.Sprintf("changed size (%d bytes then, %d now)", then.size, now.size)
	case now.mtime != then.mtime:
		return fmt.Sprintf("was modified (modification time %s then, %s now)",
			time.Unix(0, then.mtime).UTC().Format(time.RFC3339Nano), time.Unix(0, now.mtime).UTC().Format(time.RFC3339Nano))
	}
	return ""
}
