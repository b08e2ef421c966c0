package taildir

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/javaregex"
)

// Config is the taildir source's configuration, with Flume's names.
type Config struct {
	FileGroups            []string          `flume:"filegroups" required:"true" doc:"names of the file groups, separated by spaces"`
	FileGroupPaths        map[string]string `flume:"filegroups.*" doc:"filegroups.<group>: a path whose directory is literal and whose file name part is a Java regular expression"`
	PositionFile          string            `flume:"positionFile" doc:"JSON file of each file's inode, position and path (Flume's format); ~ is the home directory"`
	Headers               map[string]string `flume:"headers.*" doc:"headers.<group>.<key>: a header added to every event of the group"`
	ByteOffsetHeader      bool              `flume:"byteOffsetHeader" doc:"add the line's byte offset in its file as header byteoffset"`
	SkipToEnd             bool              `flume:"skipToEnd" doc:"start files not in the position file at their end, not their start"`
	IdleTimeout           time.Duration     `flume:"idleTimeout" unit:"ms" doc:"close a file not written to for this long (its last line is delivered even without a newline)"`
	WritePosInterval      time.Duration     `flume:"writePosInterval" unit:"ms" doc:"how often the position file is written"`
	BatchSize             int               `flume:"batchSize" doc:"lines handed to the channels in one batch"`
	MaxBatchCount         int64             `flume:"maxBatchCount" doc:"batches read from one file in a row before the other files get a turn"`
	BackoffSleepIncrement time.Duration     `flume:"backoffSleepIncrement" unit:"ms" doc:"how much longer each idle poll waits when no file notification arrives"`
	MaxBackoffSleep       time.Duration     `flume:"maxBackoffSleep" unit:"ms" doc:"longest wait between polls"`
	CachePatternMatching  bool              `flume:"cachePatternMatching" doc:"list a directory again only when it changed"`
	FileHeader            bool              `flume:"fileHeader" doc:"add a header with the file's absolute path"`
	FileHeaderKey         string            `flume:"fileHeaderKey" doc:"name of the path header"`
}

// group is one file group: a directory and a file name pattern.
type group struct {
	name    string
	dir     string
	pattern string
	re      *regexp.Regexp
	headers map[string]string
}

// groups resolves the groups in filegroups order.
func (c *Config) groups() ([]*group, error) {
	var errs []error
	var out []*group
	seen := map[string]bool{}
	for _, g := range c.FileGroups {
		if seen[g] {
			continue
		}
		seen[g] = true
		p, ok := c.FileGroupPaths[g]
		key := "filegroups." + g
		if !ok || strings.TrimSpace(p) == "" {
			errs = append(errs, conf.Invalid("filegroups", "group %q has no %s path", g, key))
			continue
		}
		p = strings.TrimSpace(p)
		dir, name := filepath.Split(p)
		if name == "" || dir == "" {
			errs = append(errs, conf.Invalid(key, "%q needs a directory and a file name pattern", p))
			continue
		}
		tr, err := javaregex.Translate(name)
		if err != nil {
			errs = append(errs, conf.Invalid(key, "file name pattern %q %v", name, err))
			continue
		}
		re, err := regexp.Compile(`^(?:` + tr + `)$`)
		if err != nil {
			errs = append(errs, conf.Invalid(key, "file name pattern %q is not a valid regular expression: %s",
				name, strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
			continue
		}
		abs, err := filepath.Abs(filepath.Clean(dir))
		if err != nil {
			errs = append(errs, conf.Invalid(key, "%q: %v", p, err))
			continue
		}
		out = append(out, &group{name: g, dir: abs, pattern: p, re: re, headers: map[string]string{}})
	}
	byName := map[string]*group{}
	for _, g := range out {
		byName[g.name] = g
	}
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, h, ok := strings.Cut(k, ".")
		if !ok || h == "" {
			errs = append(errs, conf.Invalid("headers."+k, "must be headers.<group>.<header name>"))
			continue
		}
		if gr := byName[g]; gr != nil {
			gr.headers[h] = c.Headers[k]
		}
	}
	return out, errors.Join(errs...)
}

// unusedKeys lists filegroups.<g> and headers.<g>.* keys naming groups not
// in filegroups: Flume ignores them; Sluice warns.
func (c *Config) unusedKeys() []string {
	listed := map[string]bool{}
	for _, g := range c.FileGroups {
		listed[g] = true
	}
	var out []string
	for g := range c.FileGroupPaths {
		if !listed[g] {
			out = append(out, fmt.Sprintf("filegroups.%s: group %q is not listed in filegroups; ignored", g, g))
		}
	}
	for k := range c.Headers {
		if g, _, _ := strings.Cut(k, "."); !listed[g] {
			out = append(out, fmt.Sprintf("headers.%s: group %q is not listed in filegroups; ignored", k, g))
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks the groups, the position file and the ranges.
func (c *Config) Validate() error {
	var errs []error
	if len(c.FileGroups) == 0 {
		errs = append(errs, conf.Invalid("filegroups", "no file group named"))
	}
	if _, err := c.groups(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.PositionFile) == "" {
		errs = append(errs, conf.Invalid("positionFile", "%q is empty", c.PositionFile))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "\"%d\" must be at least 1", c.BatchSize))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, conf.Invalid("idleTimeout", "%q must be more than 0", c.IdleTimeout.String()))
	}
	if c.WritePosInterval <= 0 {
		errs = append(errs, conf.Invalid("writePosInterval", "%q must be more than 0", c.WritePosInterval.String()))
	}
	if c.MaxBackoffSleep <= 0 {
		errs = append(errs, conf.Invalid("maxBackoffSleep", "%q must be more than 0", c.MaxBackoffSleep.String()))
	}
	if strings.TrimSpace(c.FileHeaderKey) == "" && c.FileHeader {
		errs = append(errs, conf.Invalid("fileHeaderKey", "%q is empty", c.FileHeaderKey))
	}
	return errors.Join(errs...)
}

// maxBatches is maxBatchCount, where Flume takes zero or less as no limit.
func (c *Config) maxBatches() int64 {
	if c.MaxBatchCount <= 0 {
		return math.MaxInt64
	}
	return c.MaxBatchCount
}

// positionPath expands a leading ~ as Flume's default (user.home) does.
func (c *Config) positionPath() (string, error) {
	p := strings.TrimSpace(c.PositionFile)
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("positionFile %q: %w", p, err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	return filepath.Abs(p)
}
