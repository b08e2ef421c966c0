package spooldir

import (
	"errors"
	"strconv"
	"syscall"
	"time"
)

// skipLogLimit bounds the lines about skipped file names per minute: a
// directory that fills with thousands of them must not flood the log.
const skipLogLimit = 10

// skippedNames remembers the names already reported, so that each is
// said once rather than at every poll. It is cleared when it grows past
// maxSkippedNames (a name reported again then is the lesser evil).
const maxSkippedNames = 10000

// skipped reports, once per file name, a file the source leaves alone
// because its name does not match includePattern — a newline or other
// character the pattern's "." does not match, say — which would
// otherwise wait in the directory without a word. Called from the run
// goroutine only.
func (s *Source) skipped(path, name string) {
	if _, ok := s.skippedNames[name]; ok {
		return
	}
	if s.skippedNames == nil || len(s.skippedNames) >= maxSkippedNames {
		s.skippedNames = map[string]struct{}{}
	}
	s.skippedNames[name] = struct{}{}
	now := time.Now()
	if now.Sub(s.skipWindow) >= time.Minute {
		if s.skipQuiet > 0 {
			s.log.Warn("spooldir: more files skipped for names that do not match includePattern, not listed one by one",
				"count", s.skipQuiet, "spoolDir", s.dir)
		}
		s.skipWindow, s.skipLogged, s.skipQuiet = now, 0, 0
	}
	if s.skipLogged >= skipLogLimit {
		s.skipQuiet++
		return
	}
	s.skipLogged++
	s.log.Warn("spooldir: file skipped: its name does not match includePattern, so it is never read",
		"file", path, "name", quoteName(name), "includePattern", s.cfg.IncludePattern)
}

// quoteName shows control characters (a newline in a file name) escaped.
func quoteName(name string) string {
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return strconv.Quote(name)
		}
	}
	return name
}

// isNoSpace reports a write refused because the file system (or the
// user's quota) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// noSpace says once per episode that the position file cannot be written
// for lack of space: files already being read go on (their positions are
// recorded again once there is room), new files wait, and every poll tries
// again, so the source resumes by itself when space is freed.
func (s *Source) noSpace(err error) {
	if s.diskFull {
		return
	}
	s.diskFull = true
	s.counters.GenericProcessingFail.Add(1)
	var st syscall.Statfs_t
	free := int64(-1)
	if syscall.Statfs(s.trackerDir, &st) == nil {
		free = int64(st.Bavail) * int64(st.Bsize)
	}
	s.log.Error("spooldir: disk full: cannot write the position file; new files wait until there is space (a restart meanwhile may read a batch again)",
		"position_file", s.metaPath, "free_bytes", free, "err", err)
}

// spaceBack says once that the position file is written again.
func (s *Source) spaceBack() {
	if !s.diskFull {
		return
	}
	s.diskFull = false
	s.log.Info("spooldir: space is back: the position file is written again", "position_file", s.metaPath)
}
