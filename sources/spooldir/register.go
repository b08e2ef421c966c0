// Package spooldir is the spooling directory source: it reads the files
// dropped into a directory, one after the other, turns them into events
// (lines, Avro records or whole files), and renames, marks or deletes each
// file once all of it was delivered. Its position within the current file
// survives a crash.
package spooldir

import (
	"strings"
	"time"

	"github.com/sluiceio/sluice"
)

func defaults() *Config {
	return &Config{
		FileSuffix:        ".COMPLETED",
		DeletePolicy:      "never",
		TrackingPolicy:    "rename",
		TrackerDir:        ".flumespool",
		FileHeaderKey:     "file",
		BasenameHeaderKey: "basename",
		IncludePattern:    "^.*$",
		IgnorePattern:     "^$",
		ConsumeOrder:      "oldest",
		PollDelay:         500 * time.Millisecond,
		MaxBackoff:        4000 * time.Millisecond,
		BatchSize:         100,
		InputCharset:      "UTF-8",
		DecodeErrorPolicy: "FAIL",
		Deserializer:      "LINE",
		BufferMaxLines:    100,
	}
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "spooldir",
		Aliases:   []string{"org.apache.flume.source.SpoolDirectorySource"},
		Stability: sluice.Beta,
		Doc: "Reads files placed in `spoolDir`, one at a time (`consumeOrder`), with the `deserializer`: LINE " +
			"(one event per line), AVRO (one event per record of an Avro container file) or the blob deserializer " +
			"(one event per file). A file is renamed with `fileSuffix`, marked in `trackerDir` or deleted once " +
			"every event of it was committed to the channels. The position in the current file is kept in " +
			"`trackerDir/.flumespool-main.meta` after every committed batch, so a restart, even after a crash, " +
			"resumes there. New files are noticed through file system notifications, and by looking every " +
			"`pollDelay`. Files must not change once placed: write them elsewhere and move them in.",
		Notes: strings.TrimSpace(`
- **A changed file does not stop the source.** When a file was modified, grew, shrank or was replaced after it
  was picked up, or its completed name (` + "`<name>.COMPLETED`" + `, or the tracker_dir marker) already exists,
  Flume stops the source for good ("FATAL ... Restart or reconfigure Flume"). Sluice moves the file aside to
  ` + "`<name>.QUARANTINED-<UTC yyyyMMddTHHmmssZ>`" + ` (` + "`-2`, `-3`" + `... if taken), logs an ERROR naming the
  file, what changed and how much of it was delivered, counts it in ` + "`GenericProcessingFail`" + `, and goes on
  with the other files. Quarantined names are never read. A file whose completed name exists is quarantined
  *before* it is read (Flume reads it first); a change is noticed when the file's end is reached, as in Flume.
- **decodeErrorPolicy FAIL** quarantines the file at the first invalid byte sequence (after delivering the lines
  before it) instead of stopping the source. An Avro file that cannot be parsed is quarantined the same way.
- **Position file.** Same name and format as Flume's (an Avro container file whose metadata ` + "`file`" + ` names
  the file and whose records hold the offset), so either can take over the other's spool directory. Sluice
  appends a record per committed batch and flushes it to disk at most once a second; a new file, or one grown
  past 1 MiB, is written to a temporary name, synced and renamed. After a crash at most one batch is read again.
  Sluice also records the file's inode, size and time at pickup, so a file replaced or truncated while the
  agent was down is quarantined rather than read from the middle.
- **AVRO resumes at the record**, not at the start of the Avro block as Flume does (which delivers the block's
  records again): the number of records of the block already delivered is kept in an extra field of the
  position record, which Flume ignores when it reads the file.
- Files are read from the file a position file names first, then by ` + "`consumeOrder`" + `. Flume resumes only
  if the same file comes up first again.
- **Settling.** A file modified less than ` + "`pollDelay`" + ` ago is left until it is older (or seen unchanged
  for ` + "`pollDelay`" + `), so that a file still being copied in is not picked up the instant it appears.
- An unreadable file (permissions) is retried after a minute while the others are read; Flume keeps trying the
  same file and reads nothing else.
- ` + "`spoolDir`" + ` is created when missing (with a warning); Flume refuses to start.
- LINE: a line of exactly ` + "`maxLineLength`" + ` characters is one event; Flume emits an extra empty event after
  it. A cut never splits a surrogate pair. Invalid input under REPLACE becomes one U+FFFD per malformed
  sequence, as Java's decoder does. ` + "`inputCharset`" + ` and ` + "`deserializer.outputCharset`" + ` accept UTF-8,
  US-ASCII and ISO-8859-1 (and their Java aliases); other character sets are refused at configuration time.
- AVRO: the ` + "`flume.avro.schema.literal`" + ` header holds the schema text from the file's header (Flume
  prints it again with Avro Java, which gives the same text for files Java wrote). Codecs null, deflate,
  snappy, bzip2 and zstandard are read; xz is not.
- As in Flume, a file with no content yields one event with an empty body, a last line without a newline is an
  event, and the blob deserializer cuts files longer than ` + "`maxBlobLength`" + ` into several events.
- ` + "`ignorePattern`" + ` and ` + "`includePattern`" + ` are Java regular expressions matched against the whole file
  name; the few Java constructs Go's RE2 cannot run (look-around, back-references) are refused at start.`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = spooldir\n" +
			"a1.sources.r1.spoolDir = /var/spool/sluice\n" +
			"a1.sources.r1.fileHeader = true\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}
