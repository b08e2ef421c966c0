// Package taildir is the TAILDIR source: it follows files matching
// patterns, line by line, keeps each file's position by inode in a JSON
// position file, and follows files across rotation by rename and by
// copytruncate.
package taildir

import (
	"math"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
)

func defaults() *Config {
	return &Config{
		PositionFile:          "~/.flume/taildir_position.json",
		IdleTimeout:           120000 * time.Millisecond,
		WritePosInterval:      3000 * time.Millisecond,
		BatchSize:             100,
		MaxBatchCount:         math.MaxInt64,
		BackoffSleepIncrement: 1000 * time.Millisecond,
		MaxBackoffSleep:       5000 * time.Millisecond,
		CachePatternMatching:  true,
		FileHeaderKey:         "file",
	}
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "TAILDIR",
		Aliases:   []string{"org.apache.flume.source.taildir.TaildirSource"},
		Stability: sluice.Beta,
		Doc: "Follows the files of each file group (`filegroups.<group>`: a directory and a file name pattern) " +
			"and turns each line into an event. Files are known by inode, so a renamed file is followed and a new " +
			"file under the old name is read from its start; a file truncated below its position is read again " +
			"from the start. Positions advance only when a batch was committed, and are written to `positionFile` " +
			"(Flume's JSON format) every `writePosInterval` and at stop. New files are noticed through file system " +
			"notifications and by polling.",
		Notes: strings.TrimSpace(`
- **Rotation without loss or duplicates.** A file renamed away from its pattern (logrotate's default) stays open
  and is read to its end, including lines the application writes to it before it reopens its log, until it is
  idle for ` + "`idleTimeout`" + `; its new name goes into the position file, so a restart in between resumes it.
  A file renamed while the agent was stopped (once or several times) is found at start by its inode in the
  groups' directories and its unread end is read before the file that replaced it; Flume loses that end.
  A file the source starts to follow is recorded in the position file at once, not after
  ` + "`writePosInterval`" + `. A file created and renamed away entirely while the agent was down was never seen
  and is not read (nor by Flume); a pattern that also matches the rotated names covers that.
  Flume stops reading it at once (losing those lines), and re-reads from the start a renamed file that still
  matches (duplicating it); Sluice follows the inode. A closed (idle) file that reappears under another name is
  recognised by the bytes before its position (an inode can be reused by another file once closed).
- **copytruncate.** A file shorter than the position is read again from the start, as in Flume, and so is a file
  whose bytes just before the position changed (truncated and already written past the old position, which
  Flume misses and reads from the middle). Lines written between the copy and the truncation exist only in the
  copy: no tailer can see them unless the copy matches a group too.
- **Position file** is written atomically (temporary file, sync, rename); Flume rewrites it in place, which a crash
  can leave empty. The format is Flume's, so either can take over the other's file. Entries are used only when
  inode and path both match, as in Flume. An unreadable position file is renamed to ` + "`<name>.unreadable`" + `
  and every file starts afresh (Flume logs and starts afresh too).
- ` + "`positionFile`" + ` defaults to ` + "`~/.flume/taildir_position.json`" + ` (Flume's ` + "`user.home`" + `). Its
  directory is created on the first write; Start fails when it could not be.
- A group whose directory does not exist is looked for on every poll (Flume refuses to start). Relative paths are
  taken from the working directory. A group listed in ` + "`filegroups`" + ` without a path is an error (Flume
  drops it silently); paths and headers for unlisted groups are reported as warnings. A file matched by two groups
  belongs to the first in ` + "`filegroups`" + ` order.
- Channel refusals are retried with the same batch (1 s doubling to 5 s), as Flume, without re-reading.
- Idle polling waits ` + "`backoffSleepIncrement`" + ` more each time up to ` + "`maxBackoffSleep`" + ` (Flume's
  PollableSourceRunner), but a notification from the file system wakes it at once.
- As Flume: lines end at ` + "`\\n`" + ` with a preceding ` + "`\\r`" + ` removed, bodies are raw bytes, a last line without
  newline waits until the file is idle for ` + "`idleTimeout`" + ` and is then delivered as it is. Sluice cuts a line
  longer than 64 MiB into 64 MiB events (Flume keeps reading it into memory).`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = TAILDIR\n" +
			"a1.sources.r1.positionFile = /var/lib/sluice/taildir_position.json\n" +
			"a1.sources.r1.filegroups = f1 f2\n" +
			"a1.sources.r1.filegroups.f1 = /var/log/test1/example.log\n" +
			"a1.sources.r1.headers.f1.headerKey1 = value1\n" +
			"a1.sources.r1.filegroups.f2 = /var/log/test2/.*log.*\n" +
			"a1.sources.r1.headers.f2.headerKey1 = value2\n" +
			"a1.sources.r1.fileHeader = true\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}
