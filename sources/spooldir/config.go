package spooldir

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/javaregex"
)

// Config is the spooling directory source's configuration, with Flume's
// property names.
type Config struct {
	SpoolDir                 string            `flume:"spoolDir" required:"true" doc:"directory to read files from"`
	FileSuffix               string            `flume:"fileSuffix" doc:"suffix appended to a file once it has been read completely"`
	DeletePolicy             string            `flume:"deletePolicy" doc:"what to do with a completed file: never or immediate (delete it)"`
	TrackingPolicy           string            `flume:"trackingPolicy" doc:"with deletePolicy never: rename (append fileSuffix) or tracker_dir (leave the file, mark it in trackerDir)"`
	TrackerDir               string            `flume:"trackerDir" doc:"directory for the position file and tracker_dir markers; relative to spoolDir unless absolute"`
	FileHeader               bool              `flume:"fileHeader" doc:"add a header with the file's absolute path"`
	FileHeaderKey            string            `flume:"fileHeaderKey" doc:"name of the absolute path header"`
	BasenameHeader           bool              `flume:"basenameHeader" doc:"add a header with the file's name"`
	BasenameHeaderKey        string            `flume:"basenameHeaderKey" doc:"name of the file name header"`
	IncludePattern           string            `flume:"includePattern" doc:"Java regular expression a file name must match to be read"`
	IgnorePattern            string            `flume:"ignorePattern" doc:"Java regular expression of file (and, when recursive, directory) names to skip; wins over includePattern"`
	ConsumeOrder             string            `flume:"consumeOrder" doc:"which file to read next: oldest, youngest (by modification time, then name) or random"`
	PollDelay                time.Duration     `flume:"pollDelay" unit:"ms" doc:"how often to look for new files when no file notification arrives"`
	RecursiveDirectorySearch bool              `flume:"recursiveDirectorySearch" doc:"also read files in subdirectories"`
	MaxBackoff               time.Duration     `flume:"maxBackoff" unit:"ms" doc:"longest pause between retries of a batch the channels refused (starts at 250 ms, doubles)"`
	BatchSize                int               `flume:"batchSize" doc:"events handed to the channels in one batch"`
	InputCharset             string            `flume:"inputCharset" doc:"character set of the files (LINE deserializer): UTF-8, US-ASCII or ISO-8859-1"`
	DecodeErrorPolicy        string            `flume:"decodeErrorPolicy" doc:"what to do with bytes that are not valid in inputCharset: FAIL (quarantine the file), REPLACE (U+FFFD) or IGNORE (drop them)"`
	Deserializer             string            `flume:"deserializer" doc:"how a file becomes events: LINE, AVRO, or org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder"`
	DeserializerProps        map[string]string `flume:"deserializer.*" doc:"deserializer options: maxLineLength and outputCharset (LINE), schemaType (AVRO), maxBlobLength (BLOB)"`
	BufferMaxLineLength      int               `flume:"bufferMaxLineLength" doc:"deprecated: sets deserializer.maxLineLength of the LINE deserializer"`
	BufferMaxLines           int               `flume:"bufferMaxLines" doc:"deprecated and ignored, as in Flume"`
}

// Deserializer kinds.
const (
	desLine = "LINE"
	desAvro = "AVRO"
	desBlob = "BLOB"
)

// deserializerKind maps the names Flume accepts onto a kind.
func deserializerKind(name string) (string, bool) {
	switch strings.TrimSpace(name) {
	case "org.apache.flume.serialization.LineDeserializer$Builder":
		return desLine, true
	case "org.apache.flume.serialization.AvroEventDeserializer$Builder":
		return desAvro, true
	case "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder":
		return desBlob, true
	}
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case desLine:
		return desLine, true
	case desAvro:
		return desAvro, true
	case desBlob:
		return desBlob, true
	}
	return "", false
}

// desOptions are the decoded deserializer.* options.
type desOptions struct {
	kind          string
	maxLineLength int
	outputCharset charset
	schemaLiteral bool
	maxBlobLength int
}

// deserializerKeys lists the options each deserializer knows.
var deserializerKeys = map[string][]string{
	desLine: {"maxLineLength", "outputCharset"},
	desAvro: {"schemaType"},
	desBlob: {"maxBlobLength"},
}

// options decodes the deserializer choice and its options; unknown option
// keys come back as warnings.
func (c *Config) options() (desOptions, []string, error) {
	var errs []error
	var warns []string
	kind, ok := deserializerKind(c.Deserializer)
	if !ok {
		return desOptions{}, nil, conf.Invalid("deserializer", "%q is not a deserializer (LINE, AVRO or org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder)", c.Deserializer)
	}
	o := desOptions{kind: kind, maxLineLength: 2048, outputCharset: csUTF8, maxBlobLength: 100000000}
	if kind == desLine && c.BufferMaxLineLength > 0 {
		o.maxLineLength = c.BufferMaxLineLength
	}
	keys := make([]string, 0, len(c.DeserializerProps))
	for k := range c.DeserializerProps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(c.DeserializerProps[k])
		key := "deserializer." + k
		known := false
		for _, kk := range deserializerKeys[kind] {
			known = known || kk == k
		}
		if !known {
			warns = append(warns, fmt.Sprintf("%s: the %s deserializer has no option %q (it knows %s)", key, kind, k, strings.Join(deserializerKeys[kind], ", ")))
			continue
		}
		switch k {
		case "maxLineLength", "maxBlobLength":
			n, err := strconv.Atoi(v)
			switch {
			case err != nil:
				errs = append(errs, conf.Invalid(key, "%q is not a whole number", v))
			case n < 1:
				errs = append(errs, conf.Invalid(key, "%q must be at least 1", v))
			case k == "maxLineLength":
				o.maxLineLength = n
			default:
				o.maxBlobLength = n
			}
		case "outputCharset":
			cs, ok := lookupCharset(v)
			if !ok {
				errs = append(errs, conf.Invalid(key, "%q is not a supported character set (%s)", v, charsetNames))
			}
			o.outputCharset = cs
		case "schemaType":
			switch strings.ToUpper(v) {
			case "HASH":
			case "LITERAL":
				o.schemaLiteral = true
			default:
				errs = append(errs, conf.Invalid(key, "%q is not HASH or LITERAL", v))
			}
		}
	}
	return o, warns, errors.Join(errs...)
}

// Validate checks ranges, enumerations, patterns and the deserializer.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.SpoolDir) == "" {
		errs = append(errs, conf.Invalid("spoolDir", "%q is empty", c.SpoolDir))
	}
	if c.FileSuffix == "" {
		errs = append(errs, conf.Invalid("fileSuffix", "must not be empty: every file name ends with the empty string, so no file would ever be read"))
	}
	if _, ok := oneOf(c.DeletePolicy, "never", "immediate"); !ok {
		errs = append(errs, conf.Invalid("deletePolicy", "%q is not never or immediate", c.DeletePolicy))
	}
	if _, ok := oneOf(c.TrackingPolicy, "rename", "tracker_dir"); !ok {
		errs = append(errs, conf.Invalid("trackingPolicy", "%q is not rename or tracker_dir", c.TrackingPolicy))
	}
	if _, ok := oneOf(c.ConsumeOrder, "oldest", "youngest", "random"); !ok {
		errs = append(errs, conf.Invalid("consumeOrder", "%q is not oldest, youngest or random", c.ConsumeOrder))
	}
	if _, ok := oneOf(c.DecodeErrorPolicy, "FAIL", "REPLACE", "IGNORE"); !ok {
		errs = append(errs, conf.Invalid("decodeErrorPolicy", "%q is not FAIL, REPLACE or IGNORE", c.DecodeErrorPolicy))
	}
	if strings.TrimSpace(c.TrackerDir) == "" {
		errs = append(errs, conf.Invalid("trackerDir", "%q is empty", c.TrackerDir))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "\"%d\" must be at least 1", c.BatchSize))
	}
	if c.PollDelay <= 0 {
		errs = append(errs, conf.Invalid("pollDelay", "%q must be more than 0", c.PollDelay.String()))
	}
	if c.MaxBackoff <= 0 {
		errs = append(errs, conf.Invalid("maxBackoff", "%q must be more than 0", c.MaxBackoff.String()))
	}
	if c.BufferMaxLineLength < 0 {
		errs = append(errs, conf.Invalid("bufferMaxLineLength", "\"%d\" must not be negative", c.BufferMaxLineLength))
	}
	if _, ok := lookupCharset(c.InputCharset); !ok {
		errs = append(errs, conf.Invalid("inputCharset", "%q is not a supported character set (%s)", c.InputCharset, charsetNames))
	}
	if _, err := fullMatch("includePattern", c.IncludePattern); err != nil {
		errs = append(errs, err)
	}
	if _, err := fullMatch("ignorePattern", c.IgnorePattern); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := c.options(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// oneOf matches v against choices ignoring case, as Flume's enum parsing
// does, and returns the canonical spelling.
func oneOf(v string, choices ...string) (string, bool) {
	for _, c := range choices {
		if strings.EqualFold(strings.TrimSpace(v), c) {
			return c, true
		}
	}
	return "", false
}

// fullMatch compiles a Java pattern for Matcher.matches semantics: the
// whole name must match.
func fullMatch(key, pattern string) (*regexp.Regexp, error) {
	tr, err := javaregex.Translate(pattern)
	if err != nil {
		return nil, conf.Invalid(key, "%q %v", pattern, err)
	}
	re, err := regexp.Compile(`^(?:` + tr + `)$`)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, conf.Invalid(key, "%q is not a valid regular expression: %s", pattern, msg)
	}
	return re, nil
}
