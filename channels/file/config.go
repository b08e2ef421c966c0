package file

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
)

// Config holds the file channel's properties, with Flume 1.11's defaults.
type Config struct {
	CheckpointDir        string            `flume:"checkpointDir" doc:"directory of the checkpoint (a snapshot of the queue that saves replaying the whole log); ~/ is the user's home"`
	BackupCheckpointDir  string            `flume:"backupCheckpointDir" doc:"directory of the second copy of the checkpoint, used when the first is damaged (with useDualCheckpoints)"`
	UseDualCheckpoints   bool              `flume:"useDualCheckpoints" doc:"also write every checkpoint to backupCheckpointDir"`
	DataDirs             []string          `flume:"dataDirs" sep:"," doc:"comma-separated directories of the log segments; commits are spread over them, each with its own writer and fsync"`
	Capacity             int               `flume:"capacity" doc:"most events the channel holds, counting events taken by uncommitted transactions"`
	TransactionCapacity  int               `flume:"transactionCapacity" doc:"most events one transaction may put, or take"`
	CheckpointInterval   time.Duration     `flume:"checkpointInterval" unit:"ms" doc:"time between checkpoints (milliseconds, or a duration such as 30s); segments are deleted after a checkpoint"`
	MaxFileSize          int64             `flume:"maxFileSize" doc:"largest log segment in bytes; segments roll at 64 MiB or at this size, whichever is smaller, and are smaller still when the disk has less room"`
	MinimumRequiredSpace int64             `flume:"minimumRequiredSpace" doc:"puts are refused while a data directory's file system has less free space than this, in bytes (at least 1048576); takes go on"`
	KeepAlive            time.Duration     `flume:"keep-alive" unit:"s" doc:"how long a commit of puts waits for room (seconds, or a duration such as 200ms)"`
	CheckpointOnClose    bool              `flume:"checkpointOnClose" doc:"write a checkpoint when the channel stops, so the next start replays nothing"`
	FsyncPerTransaction  bool              `flume:"fsyncPerTransaction" doc:"a commit of puts returns only after its data is fsync'd (false: after it is written, fsync'd within fsyncInterval; a power loss can then lose committed events)"`
	FsyncInterval        time.Duration     `flume:"fsyncInterval" unit:"s" doc:"with fsyncPerTransaction = false, the longest time written data stays unsynced (seconds)"`
	UseFastReplay        bool              `flume:"use-fast-replay" doc:"accepted for compatibility; replay is always the fast kind here"`
	UseLogReplayV1       bool              `flume:"use-log-replay-v1" doc:"accepted for compatibility; has no effect"`
	CompressBackup       bool              `flume:"compressBackupCheckpoint" doc:"accepted for compatibility; the backup checkpoint is written uncompressed"`
	Encryption           map[string]string `flume:"encryption.*" doc:"Flume's log encryption; not supported: the channel refuses to start rather than write clear text"`
}

const (
	defaultCheckpointDir = "~/.flume/file-channel/checkpoint"
	defaultDataDir       = "~/.flume/file-channel/data"
	// maxSegment is where segments roll unless maxFileSize is smaller:
	// small enough to delete soon after its events are taken, large
	// enough that rolls are rare.
	maxSegment = 64 << 20
	// floorRequiredSpace is Flume's floor for minimumRequiredSpace.
	floorRequiredSpace = 1 << 20
	minFileSize        = 64 << 10
)

// DefaultConfig returns Flume's defaults.
func DefaultConfig() *Config {
	return &Config{
		CheckpointDir:        defaultCheckpointDir,
		DataDirs:             []string{defaultDataDir},
		Capacity:             1000000,
		TransactionCapacity:  10000,
		CheckpointInterval:   30 * time.Second,
		MaxFileSize:          2146435071,
		MinimumRequiredSpace: 524288000,
		KeepAlive:            3 * time.Second,
		CheckpointOnClose:    true,
		FsyncPerTransaction:  true,
		FsyncInterval:        5 * time.Second,
	}
}

// Validate checks the cross-field rules. Flume replaces bad numbers with
// defaults and logs a warning; this channel refuses them instead.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, conf.Invalid(key, format, args...)) }
	if c.Capacity <= 0 {
		bad("capacity", "\"%d\" must be greater than 0", c.Capacity)
	}
	if c.TransactionCapacity <= 0 {
		bad("transactionCapacity", "\"%d\" must be greater than 0", c.TransactionCapacity)
	} else if c.Capacity > 0 && c.TransactionCapacity > c.Capacity {
		bad("transactionCapacity", "\"%d\" is larger than capacity %d: a transaction must fit in the channel", c.TransactionCapacity, c.Capacity)
	}
	if c.CheckpointInterval <= 0 {
		bad("checkpointInterval", "\"%s\" must be greater than 0", c.CheckpointInterval)
	}
	if c.MaxFileSize < minFileSize {
		bad("maxFileSize", "\"%d\" must be at least %d bytes", c.MaxFileSize, minFileSize)
	}
	if c.MinimumRequiredSpace < 0 {
		bad("minimumRequiredSpace", "\"%d\" must not be negative", c.MinimumRequiredSpace)
	}
	if !c.FsyncPerTransaction && c.FsyncInterval <= 0 {
		bad("fsyncInterval", "\"%s\" must be greater than 0 when fsyncPerTransaction is false", c.FsyncInterval)
	}
	if strings.TrimSpace(c.CheckpointDir) == "" {
		bad("checkpointDir", "must not be empty")
	}
	if len(c.DataDirs) == 0 {
		bad("dataDirs", "must name at least one directory")
	}
	if c.UseDualCheckpoints && strings.TrimSpace(c.BackupCheckpointDir) == "" {
		bad("backupCheckpointDir", "must be set when useDualCheckpoints is true")
	}
	if len(c.Encryption) > 0 {
		keys := make([]string, 0, len(c.Encryption))
		for k := range c.Encryption {
			keys = append(keys, "encryption."+k)
		}
		sort.Strings(keys)
		bad(keys[0], "log encryption is not supported: events would be written in clear text; remove the encryption.* properties (and encrypt the disk instead) to use this channel")
	}
	if err := c.distinctDirs(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// distinctDirs refuses a directory named twice: each one is locked, and
// one channel cannot hold the same lock twice.
func (c *Config) distinctDirs() error {
	seen := map[string]string{}
	check := func(key, dir string) error {
		p, err := expandHome(dir)
		if err != nil {
			return conf.Invalid(key, "%q: %v", dir, err)
		}
		p = filepath.Clean(p)
		if prev, ok := seen[p]; ok {
			return conf.Invalid(key, "%q is also %s: every directory of the channel must be its own", dir, prev)
		}
		seen[p] = key
		return nil
	}
	var errs []error
	if c.CheckpointDir != "" {
		errs = append(errs, check("checkpointDir", c.CheckpointDir))
	}
	if c.UseDualCheckpoints && c.BackupCheckpointDir != "" {
		errs = append(errs, check("backupCheckpointDir", c.BackupCheckpointDir))
	}
	for _, d := range c.DataDirs {
		errs = append(errs, check("dataDirs", d))
	}
	return errors.Join(errs...)
}

// segmentSize is where segments roll.
func (c *Config) segmentSize() int64 { return min(c.MaxFileSize, maxSegment) }

// requiredSpace applies Flume's floor.
func (c *Config) requiredSpace() uint64 {
	return uint64(max(c.MinimumRequiredSpace, floorRequiredSpace))
}

// expandHome turns a leading "~/" into the user's home directory, as the
// defaults are written.
func expandHome(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}
