package fileroll

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sinks/serializer"
)

// Config is the file_roll sink's configuration.
type Config struct {
	Directory       string            `flume:"sink.directory" required:"true" doc:"directory the files are written to; created at start if missing"`
	RollInterval    time.Duration     `flume:"sink.rollInterval" unit:"s" doc:"close the current file and start a new one after this long; 0 never rolls"`
	Serializer      string            `flume:"sink.serializer" doc:"event serializer: TEXT, HEADER_AND_TEXT, AVRO_EVENT or another registered serializer"`
	SerializerProps map[string]string `flume:"sink.serializer.*" doc:"options passed to the serializer"`
	BatchSize       int               `flume:"sink.batchSize" doc:"maximum number of events written per transaction"`
	PathManager     string            `flume:"sink.pathManager" doc:"file naming: DEFAULT (<prefix><start millis>-<n>) or ROLLTIME (<prefix><yyyyMMddHHmmss>-<n>)"`
	Prefix          string            `flume:"sink.pathManager.prefix" doc:"file name prefix"`
	Extension       string            `flume:"sink.pathManager.extension" doc:"file name extension, without the dot"`
	Fsync           bool              `flume:"sink.fsync" doc:"fsync the file before each commit (Sluice extension), so committed events survive a machine crash"`
}

func defaults() *Config {
	return &Config{
		RollInterval: 30 * time.Second,
		Serializer:   "TEXT",
		BatchSize:    100,
		PathManager:  "DEFAULT",
	}
}

// Validate checks ranges, the path manager and the serializer with its options.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Directory) == "" {
		errs = append(errs, conf.Invalid("sink.directory", "must not be empty"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("sink.batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	if _, err := parsePathManager(c.PathManager); err != nil {
		errs = append(errs, conf.Invalid("sink.pathManager", "%s", err.Error()))
	}
	if strings.ContainsRune(c.Prefix, '/') {
		errs = append(errs, conf.Invalid("sink.pathManager.prefix", "%q must not contain '/'", c.Prefix))
	}
	if strings.ContainsRune(c.Extension, '/') {
		errs = append(errs, conf.Invalid("sink.pathManager.extension", "%q must not contain '/'", c.Extension))
	}
	if err := serializer.Check("sink.serializer", c.Serializer, c.SerializerProps); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
