package spooldir

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreFlumes(t *testing.T) {
	c, err := decodeConfig(t, map[string]string{"spoolDir": "/x"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"fileSuffix", c.FileSuffix, ".COMPLETED"},
		{"deletePolicy", c.DeletePolicy, "never"},
		{"trackingPolicy", c.TrackingPolicy, "rename"},
		{"trackerDir", c.TrackerDir, ".flumespool"},
		{"fileHeader", c.FileHeader, false},
		{"fileHeaderKey", c.FileHeaderKey, "file"},
		{"basenameHeader", c.BasenameHeader, false},
		{"basenameHeaderKey", c.BasenameHeaderKey, "basename"},
		{"includePattern", c.IncludePattern, "^.*$"},
		{"ignorePattern", c.IgnorePattern, "^$"},
		{"consumeOrder", c.ConsumeOrder, "oldest"},
		{"pollDelay", c.PollDelay, 500 * time.Millisecond},
		{"recursiveDirectorySearch", c.RecursiveDirectorySearch, false},
		{"maxBackoff", c.MaxBackoff, 4000 * time.Millisecond},
		{"batchSize", c.BatchSize, 100},
		{"inputCharset", c.InputCharset, "UTF-8"},
		{"decodeErrorPolicy", c.DecodeErrorPolicy, "FAIL"},
		{"deserializer", c.Deserializer, "LINE"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s default %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	o, _, err := c.options()
	if err != nil || o.maxLineLength != 2048 || o.outputCharset != csUTF8 || o.maxBlobLength != 100000000 || o.schemaLiteral {
		t.Errorf("deserializer defaults %+v %v", o, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{}, `required property "spoolDir" is missing`},
		{map[string]string{"fileSuffix": ""}, "fileSuffix (command line): must not be empty"},
		{map[string]string{"deletePolicy": "later"}, `"later" is not never or immediate`},
		{map[string]string{"trackingPolicy": "x"}, `"x" is not rename or tracker_dir`},
		{map[string]string{"consumeOrder": "newest"}, `"newest" is not oldest, youngest or random`},
		{map[string]string{"decodeErrorPolicy": "SKIP"}, `"SKIP" is not FAIL, REPLACE or IGNORE`},
		{map[string]string{"batchSize": "0"}, `batchSize (command line): "0" must be at least 1`},
		{map[string]string{"inputCharset": "UTF-16"}, `"UTF-16" is not a supported character set`},
		{map[string]string{"includePattern": "(?<=a)b"}, `includePattern (command line): "(?<=a)b" uses`},
		{map[string]string{"ignorePattern": "a("}, `"a(" is not a valid`},
		{map[string]string{"deserializer": "CSV"}, `"CSV" is not a deserializer`},
		{map[string]string{"deserializer.maxLineLength": "0"}, `deserializer.maxLineLength (command line): "0" must be at least 1`},
		{map[string]string{"deserializer.outputCharset": "EBCDIC"}, `"EBCDIC" is not a supported character set`},
		{map[string]string{"deserializer": "avro", "deserializer.schemaType": "FULL"}, `"FULL" is not HASH or LITERAL`},
		{map[string]string{"deserializer": "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder", "deserializer.maxBlobLength": "x"}, `"x" is not a whole number`},
	}
	for _, tt := range tests {
		p := map[string]string{"spoolDir": "/x"}
		if len(tt.props) == 0 {
			delete(p, "spoolDir")
		}
		for k, v := range tt.props {
			p[k] = v
		}
		_, err := decodeConfig(t, p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.props, err, tt.want)
		}
	}
}

func TestConfigAcceptsFlumeSpellings(t *testing.T) {
	c, err := decodeConfig(t, map[string]string{"spoolDir": "/x", "deletePolicy": "IMMEDIATE", "consumeOrder": "Youngest",
		"trackingPolicy": "TRACKER_DIR", "decodeErrorPolicy": "replace", "inputCharset": "iso-8859-1",
		"deserializer": "org.apache.flume.serialization.LineDeserializer$Builder", "bufferMaxLineLength": "100",
		"deserializer.outputCharset": "US-ASCII"})
	if err != nil {
		t.Fatal(err)
	}
	o, warns, err := c.options()
	if err != nil || o.kind != desLine || o.maxLineLength != 100 || o.outputCharset != csASCII || len(warns) != 0 {
		t.Fatalf("%+v %v %v", o, warns, err)
	}
	c.DeserializerProps = map[string]string{"maxBlobLength": "5"}
	if _, warns, _ := c.options(); len(warns) != 1 || !strings.Contains(warns[0], `the LINE deserializer has no option "maxBlobLength"`) {
		t.Fatalf("warnings %v", warns)
	}
}
