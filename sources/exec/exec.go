// Package exec is the exec source: it runs a command and turns every line
// the command writes to standard output into an event.
package exec

import (
	"errors"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config is the exec source's configuration.
type Config struct {
	Command         string        `flume:"command" required:"true" doc:"the command to run; split on whitespace unless shell is set"`
	Shell           string        `flume:"shell" doc:"shell to run the command with, e.g. /bin/sh -c (the command becomes its last argument)"`
	Restart         bool          `flume:"restart" doc:"run the command again when it exits"`
	RestartThrottle time.Duration `flume:"restartThrottle" unit:"ms" doc:"pause before a restart"`
	LogStdErr       bool          `flume:"logStdErr" doc:"log the command's standard error lines at INFO"`
	BatchSize       int           `flume:"batchSize" doc:"lines handed to the channels in one batch"`
	BatchTimeout    time.Duration `flume:"batchTimeout" unit:"ms" doc:"longest wait for a batch to fill, counted from the previous batch"`
	Charset         string        `flume:"charset" doc:"character set of the command's output (ASCII-compatible sets only)"`
}

// Validate checks the command, ranges and the charset.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Command) == "" {
		errs = append(errs, conf.Invalid("command", "%q is empty", c.Command))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "\"%d\" must be at least 1", c.BatchSize))
	}
	if c.BatchTimeout <= 0 {
		errs = append(errs, conf.Invalid("batchTimeout", "%q must be more than 0", c.BatchTimeout.String()))
	}
	if !knownCharset(c.Charset) {
		errs = append(errs, conf.Invalid("charset", "%q is not a supported character set (UTF-8, US-ASCII, ISO-8859-x, windows-125x)", c.Charset))
	}
	return errors.Join(errs...)
}

// argv is the command line to start: the shell's words plus the command as
// one argument, or the command split on whitespace.
func (c *Config) argv() []string {
	if strings.TrimSpace(c.Shell) != "" {
		return append(strings.Fields(c.Shell), c.Command)
	}
	return strings.Fields(c.Command)
}

// knownCharset accepts the ASCII-compatible character sets: their lines
// end in the same bytes, so the output can be split and passed on as raw
// bytes, which is what Flume's decode-then-encode with the same charset
// yields. UTF-16 and UTF-32 are refused.
func knownCharset(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("_", "-").Replace(n)
	switch n {
	case "utf-8", "utf8", "us-ascii", "ascii", "latin1", "l1", "cp1252", "cp1251", "cp1250", "koi8-r", "koi8-u":
		return true
	}
	for _, p := range []string{"iso-8859-", "iso8859-", "windows-"} {
		if rest, ok := strings.CutPrefix(n, p); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

func defaults() *Config {
	return &Config{
		RestartThrottle: 10 * time.Second,
		BatchSize:       20,
		BatchTimeout:    3 * time.Second,
		Charset:         "UTF-8",
	}
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "exec",
		Aliases:   []string{"org.apache.flume.source.ExecSource"},
		Stability: sluice.Stable,
		Doc: "Runs a command and turns each line of its standard output into an event, " +
			"batched by `batchSize` and `batchTimeout`. With `restart`, the command is run " +
			"again after it exits.",
		Notes: strings.TrimSpace(`
- **Back-pressure instead of loss.** When the channels refuse a batch, Flume kills the command and
  loses the lines it had read. Sluice keeps the batch and retries it (100 ms, doubling up to 5 s),
  and stops reading meanwhile, so the command blocks on its full output pipe until the channel
  has room. No line is lost while the agent runs.
- **Start fails if the command cannot be started** (executable not found, not executable), with
  an error naming the command, so the mistake shows at startup. Later restarts that fail to
  start are logged, counted in ` + "`GenericProcessingFail`" + `, and retried after
  ` + "`restartThrottle`" + ` while ` + "`restart`" + ` is true.
- Stop sends SIGTERM to the command's whole process group (the command runs in its own group, so
  children of a shell die too), then SIGKILL after 5 s or at the stop deadline. Lines read before
  stop are still handed to the channels within the stop deadline.
- The command's standard input is /dev/null (Flume leaves an open pipe nobody writes to).
- Lines end at ` + "`\\n`" + `, ` + "`\\r\\n`" + ` or a lone ` + "`\\r`" + ` as with Java's readLine; a last line without
  newline is delivered. Bodies are the raw bytes of the line: for UTF-8, invalid bytes are kept
  rather than replaced by U+FFFD. Only ASCII-compatible charsets are accepted. A line longer than
  64 MiB is cut into 64 MiB events (Flume has no limit and can run out of memory).
- An exit is logged with its status; a failed exit also shows the command's last stderr lines.`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = exec\n" +
			"a1.sources.r1.command = tail -F /var/log/secure\n" +
			"a1.sources.r1.restart = true\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}
