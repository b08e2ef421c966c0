package file

import (
	"fmt"

	"github.com/sluiceio/sluice"
)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindChannel,
		Name:      "file",
		Aliases:   []string{"org.apache.flume.channel.file.FileChannel"},
		Stability: sluice.Beta,
		Doc: "A durable channel: a commit of puts returns only once the events are fsync'd to a write-ahead log, " +
			"so what a source acknowledged survives a crash of the agent or of the machine. Concurrent commits " +
			"share one write and one fsync (group commit); a checkpoint of the queue keeps restarts short, and " +
			"log segments are deleted as soon as everything in them was taken.",
		Config: func() any { return DefaultConfig() },
		New: func(env sluice.Env, cfg any) (any, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("file channel: unexpected config type %T", cfg)
			}
			return New(env, c)
		},
		Notes: notes,
		Example: "a1.channels = c1\n" +
			"a1.channels.c1.type = file\n" +
			"a1.channels.c1.checkpointDir = /var/lib/sluice/c1/checkpoint\n" +
			"a1.channels.c1.dataDirs = /var/lib/sluice/c1/data\n" +
			"a1.channels.c1.capacity = 1000000\n" +
			"a1.channels.c1.transactionCapacity = 10000\n" +
			"a1.channels.c1.minimumRequiredSpace = 1048576\n",
	})
}

const notes = `Same property names and defaults as Flume's file channel; the on-disk format is
Sluice's own (a Flume channel's directories cannot be read, and the other way round: drain
a Flume file channel before switching). See [the file channel design](../file-channel.md)
for the guarantees, the layout on disk and sizing.

**Guarantees.** A commit of puts returns after fdatasync (shared by concurrent commits). A
commit of takes returns once its record is written: a killed process never gives those
events back; after a power loss, takes committed in the last second may be delivered
again (at-least-once, bounded duplicates). A take that was not committed comes back after
any crash. A torn write at the end of the log is cut off with a warning saying what is known about
it; damage anywhere else stops the channel with an error naming the file, the offset and
the repair command, ` + "`sluice filechannel salvage`" + `, which delivers every intact event and sets
the damaged bytes aside, counted (Flume's FCINTEGRITYTOOL).

Differences from Flume:

- **Group commit.** Flume fsyncs once per transaction; here concurrent transactions share
  one write and one fsync, and each transaction is one write, not one per event.
- **Takes and their durability.** Flume fsyncs take commits; here a take commit waits for
  the write only and is fsync'd within one second (or with the next put commit).
- **maxFileSize** bounds a segment, but segments roll at 64 MiB at most, so they can be
  deleted soon after their events are taken; one slow event no longer pins every newer
  file (a segment is kept only while it holds queued events, or takes of a segment that is
  still kept).
- **minimumRequiredSpace** refuses puts only (takes keep draining: Flume refuses takes
  too, so a full disk could not be drained), with an error naming the directory and its
  free space, logged once per episode; puts resume by themselves when space returns.
  Values under 1 MiB are raised to 1 MiB, as in Flume.
- **A disk smaller than a segment** (or nearly full): segments are sized to the space
  there is (half of what is left, at least 256 KiB, 1 MiB kept free, and room for the
  checkpoint when it shares the disk), and the last
  prepared segment is kept for takes, so puts are refused ("no room for a new log
  segment", channel full) while takes go on; a checkpoint is then asked for, which deletes
  used-up segments, and puts resume. Flume writes its segments as they grow instead.
- **capacity** can change between runs without a full replay (Flume replays everything).
- **Checkpoints** are written every checkpointInterval, and also after 512 MiB of log, and
  at start-up after recovery. A damaged checkpoint falls back to the backup
  (useDualCheckpoints), else to a replay of the whole log.
- **fsyncPerTransaction = false** is honoured: commits of puts return after the write, and
  the log is fsync'd every fsyncInterval seconds; a power loss can then lose events.
- **Accepted without effect:** use-fast-replay (replay is always the fast kind),
  use-log-replay-v1, compressBackupCheckpoint (a warning: the backup is uncompressed).
- **encryption.\*** is refused at start-up: encrypting the log is not supported, and
  writing clear text where encryption was asked for is worse than not starting.
- **Bad values are errors** (Flume falls back to defaults with a warning): capacity,
  transactionCapacity, checkpointInterval, maxFileSize under 64 KiB, the same directory
  named twice, useDualCheckpoints without backupCheckpointDir.
- **~/** at the start of a directory is the user's home, as in the defaults.
- **Counters.** Besides the channel counters: Open, Closed, Unhealthy, EventPutErrorCount,
  EventTakeErrorCount, CheckpointWriteErrorCount and CheckpointBackupWriteErrorCount, as
  Flume's file channel reports them (error counts count events, per failed commit).
`
