package hdfs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sinks/serializer"
)

// Config is the hdfs sink's configuration: Flume's property names and defaults.
type Config struct {
	Path            string            `flume:"hdfs.path" required:"true" doc:"directory to write to, hdfs://namenode:port/dir (or a path on fs.defaultFS of HADOOP_CONF_DIR), with Flume's escapes"`
	FilePrefix      string            `flume:"hdfs.filePrefix" doc:"name prefix of the files (escapes allowed)"`
	FileSuffix      string            `flume:"hdfs.fileSuffix" doc:"name suffix of the files, e.g. .avro (the codec's extension when empty and codeC is set)"`
	InUsePrefix     string            `flume:"hdfs.inUsePrefix" doc:"name prefix of a file while it is being written"`
	InUseSuffix     string            `flume:"hdfs.inUseSuffix" doc:"name suffix of a file while it is being written"`
	EmptyInUseSuf   bool              `flume:"hdfs.emptyInUseSuffix" doc:"write open files under their final name (ignores hdfs.inUseSuffix)"`
	RollInterval    time.Duration     `flume:"hdfs.rollInterval" unit:"s" doc:"close a file this long after it was opened (0: never on time)"`
	RollSize        int64             `flume:"hdfs.rollSize" doc:"close a file once its events' bodies reach this many bytes (0: never on size)"`
	RollCount       int64             `flume:"hdfs.rollCount" doc:"close a file after this many events (0: never on count)"`
	IdleTimeout     time.Duration     `flume:"hdfs.idleTimeout" unit:"s" doc:"close a file nobody wrote to for this long (0: never)"`
	BatchSize       int               `flume:"hdfs.batchSize" doc:"events taken from the channel per transaction; every file written is flushed to HDFS before the commit"`
	CodeC           string            `flume:"hdfs.codeC" doc:"compression codec: gzip, deflate (Hadoop's DefaultCodec), snappy, lz4 (CompressedStream); deflate with SequenceFile"`
	FileType        string            `flume:"hdfs.fileType" doc:"SequenceFile, DataStream or CompressedStream"`
	WriteFormat     string            `flume:"hdfs.writeFormat" doc:"SequenceFile value type: Writable (BytesWritable) or Text"`
	MaxOpenFiles    int               `flume:"hdfs.maxOpenFiles" doc:"most files open at once; the least recently used is closed beyond it"`
	MinBlockRepl    int               `flume:"hdfs.minBlockReplicas" doc:"accepted; Sluice does not roll on under-replication"`
	CallTimeout     time.Duration     `flume:"hdfs.callTimeout" unit:"ms" doc:"time allowed for one HDFS operation (open, write and flush of a batch, close, rename)"`
	ThreadsPoolSize int               `flume:"hdfs.threadsPoolSize" doc:"accepted and ignored: HDFS calls run on the sink's goroutine"`
	RollTimerPool   int               `flume:"hdfs.rollTimerPoolSize" doc:"accepted and ignored: time-based rolls run on the sink's goroutine"`
	CloseTries      int               `flume:"hdfs.closeTries" doc:"attempts to close (and rename) a file whose close failed; 0: until it succeeds"`
	RetryInterval   time.Duration     `flume:"hdfs.retryInterval" unit:"s" doc:"time between close attempts of a file whose close failed"`
	Round           bool              `flume:"hdfs.round" doc:"round the event time down (for the time escapes)"`
	RoundValue      int               `flume:"hdfs.roundValue" doc:"round down to a multiple of this many roundUnits"`
	RoundUnit       string            `flume:"hdfs.roundUnit" doc:"second, minute or hour"`
	TimeZone        string            `flume:"hdfs.timeZone" doc:"time zone of the time escapes, e.g. America/Los_Angeles (default: the agent's local zone)"`
	UseLocalTime    bool              `flume:"hdfs.useLocalTimeStamp" doc:"use the agent's clock instead of the event's timestamp header for the escapes"`
	User            string            `flume:"hdfs.user" doc:"HDFS user to act as (Sluice extension; default: HADOOP_USER_NAME, else the OS user)"`
	ProxyUser       string            `flume:"hdfs.proxyUser" doc:"on a cluster without Kerberos: the user to act as (same as hdfs.user)"`
	KerbPrincipal   string            `flume:"hdfs.kerberosPrincipal" doc:"not supported: Kerberos is refused"`
	KerbKeytab      string            `flume:"hdfs.kerberosKeytab" doc:"not supported: Kerberos is refused"`
	RecoverInUse    bool              `flume:"hdfs.recoverInUseFiles" doc:"at start, close and rename in-use files this sink left under the path's fixed prefix (Sluice extension)"`
	Serializer      string            `flume:"serializer" doc:"event serializer for DataStream and CompressedStream: TEXT, HEADER_AND_TEXT or avro_event"`
	SerializerProps map[string]string `flume:"serializer.*" doc:"options passed to the serializer"`
}

func defaults() *Config {
	return &Config{
		FilePrefix:      "FlumeData",
		InUseSuffix:     ".tmp",
		RollInterval:    30 * time.Second,
		RollSize:        1024,
		RollCount:       10,
		BatchSize:       100,
		FileType:        "SequenceFile",
		WriteFormat:     "Writable",
		MaxOpenFiles:    5000,
		CallTimeout:     30 * time.Second,
		ThreadsPoolSize: 10,
		RollTimerPool:   1,
		RetryInterval:   180 * time.Second,
		RoundValue:      1,
		RoundUnit:       "second",
		RecoverInUse:    true,
		Serializer:      "TEXT",
	}
}

// File types.
const (
	typeSequence   = "sequencefile"
	typeStream     = "datastream"
	typeCompressed = "compressedstream"
)

// Validate checks the properties together.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Path) == "" {
		errs = append(errs, conf.Invalid("hdfs.path", "must not be empty"))
	} else if _, err := parseTarget(c.Path); err != nil {
		errs = append(errs, conf.Invalid("hdfs.path", "%q: %s", c.Path, err.Error()))
	} else if _, err := compileTemplate(c.Path); err != nil {
		errs = append(errs, conf.Invalid("hdfs.path", "%q: %s", c.Path, err.Error()))
	}
	if _, err := compileTemplate(c.FilePrefix); err != nil {
		errs = append(errs, conf.Invalid("hdfs.filePrefix", "%q: %s", c.FilePrefix, err.Error()))
	}
	for _, p := range []struct{ key, v string }{{"hdfs.fileSuffix", c.FileSuffix}, {"hdfs.inUsePrefix", c.InUsePrefix}, {"hdfs.inUseSuffix", c.InUseSuffix}} {
		if strings.ContainsAny(p.v, "/\x00") {
			errs = append(errs, conf.Invalid(p.key, "%q must not contain '/'", p.v))
		}
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("hdfs.batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	if c.MaxOpenFiles < 1 {
		errs = append(errs, conf.Invalid("hdfs.maxOpenFiles", "%q must be at least 1", fmt.Sprint(c.MaxOpenFiles)))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"hdfs.rollInterval", c.RollInterval}, {"hdfs.idleTimeout", c.IdleTimeout}, {"hdfs.callTimeout", c.CallTimeout}} {
		if d.v < 0 {
			errs = append(errs, conf.Invalid(d.key, "%q must not be negative", d.v.String()))
		}
	}
	if c.RollSize < 0 || c.RollCount < 0 {
		errs = append(errs, conf.Invalid("hdfs.rollSize", "rollSize and rollCount must not be negative"))
	}
	ft := strings.ToLower(c.FileType)
	switch ft {
	case typeSequence, typeStream, typeCompressed:
	default:
		errs = append(errs, conf.Invalid("hdfs.fileType", "%q is not SequenceFile, DataStream or CompressedStream", c.FileType))
	}
	if c.CodeC != "" {
		cd, err := lookupCodec(c.CodeC)
		switch {
		case err != nil:
			errs = append(errs, conf.Invalid("hdfs.codeC", "%s", err.Error()))
		case ft == typeStream:
			errs = append(errs, conf.Invalid("hdfs.codeC", "%q is set but hdfs.fileType DataStream does not compress (use CompressedStream, or remove hdfs.codeC)", c.CodeC))
		case ft == typeSequence && cd.seqClass == "":
			errs = append(errs, conf.Invalid("hdfs.codeC", "%q: Sluice compresses SequenceFiles with deflate (DefaultCodec) only; Hadoop itself needs native libraries to read gzip SequenceFiles", c.CodeC))
		}
	} else if ft == typeCompressed {
		errs = append(errs, conf.Invalid("hdfs.codeC", "must be set when hdfs.fileType is CompressedStream"))
	}
	switch strings.ToLower(c.WriteFormat) {
	case "writable", "text":
	default:
		errs = append(errs, conf.Invalid("hdfs.writeFormat", "%q is not Writable or Text (custom SequenceFile serializer classes are not supported)", c.WriteFormat))
	}
	if c.Round {
		unit, err := roundUnit(c.RoundUnit)
		if err != nil {
			errs = append(errs, conf.Invalid("hdfs.roundUnit", "%s", err.Error()))
		} else {
			limit := 60
			if unit == time.Hour {
				limit = 24
			}
			if c.RoundValue < 1 || c.RoundValue > limit {
				errs = append(errs, conf.Invalid("hdfs.roundValue", "%q must be between 1 and %d for roundUnit %s", fmt.Sprint(c.RoundValue), limit, c.RoundUnit))
			}
		}
	}
	if c.TimeZone != "" {
		if _, err := loadZone(c.TimeZone); err != nil {
			errs = append(errs, conf.Invalid("hdfs.timeZone", "%q: %s", c.TimeZone, err.Error()))
		}
	}
	if c.KerbPrincipal != "" || c.KerbKeytab != "" {
		errs = append(errs, conf.Invalid("hdfs.kerberosPrincipal", "Kerberos is not supported by Sluice's hdfs sink yet (hdfs.kerberosPrincipal/hdfs.kerberosKeytab are set); use Flume for a Kerberized cluster"))
	}
	if c.User != "" && c.ProxyUser != "" && c.User != c.ProxyUser {
		errs = append(errs, conf.Invalid("hdfs.proxyUser", "%q differs from hdfs.user %q; set one", c.ProxyUser, c.User))
	}
	if ft != typeSequence {
		if err := serializer.Check("serializer", c.Serializer, c.SerializerProps); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func roundUnit(s string) (time.Duration, error) {
	switch strings.ToLower(s) {
	case "second":
		return time.Second, nil
	case "minute":
		return time.Minute, nil
	case "hour":
		return time.Hour, nil
	}
	return 0, fmt.Errorf("%q is not second, minute or hour", s)
}

// loadZone reads a time zone name as Java's TimeZone.getTimeZone would,
// but refuses a name it does not know (Java silently falls back to GMT).
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "GMT", "UTC", "Z":
		return time.UTC, nil
	}
	if rest, ok := strings.CutPrefix(name, "GMT"); ok && len(rest) > 1 && (rest[0] == '+' || rest[0] == '-') {
		var h, m int
		var err error
		if strings.Contains(rest, ":") {
			_, err = fmt.Sscanf(rest[1:], "%d:%d", &h, &m)
		} else {
			_, err = fmt.Sscanf(rest[1:], "%d", &h)
		}
		if err == nil && h <= 23 && m <= 59 {
			off := h*3600 + m*60
			if rest[0] == '-' {
				off = -off
			}
			return time.FixedZone(name, off), nil
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errors.New("unknown time zone")
	}
	return loc, nil
}
