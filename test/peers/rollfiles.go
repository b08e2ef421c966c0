package peers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2/ocf"
)

// RollFiles lists the files a file_roll sink wrote into dir, in the order it
// wrote them. Its names are <prefix><start-millis>-<n>[.<ext>]; n counts up
// from 1 in one run, so sort by the start time, then by n as a number.
func RollFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	type rf struct {
		name, series string
		n            int
	}
	var files []rf
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		base := name
		if i := strings.IndexByte(base, '.'); i >= 0 {
			base = base[:i]
		}
		series, num := base, 0
		if i := strings.LastIndexByte(base, '-'); i >= 0 {
			if v, err := strconv.Atoi(base[i+1:]); err == nil {
				series, num = base[:i], v
			}
		}
		files = append(files, rf{name, series, num})
	}
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.series != b.series {
			return a.series < b.series
		}
		if a.n != b.n {
			return a.n < b.n
		}
		return a.name < b.name
	})
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f.name)
	}
	return paths, nil
}

// ReadRollText concatenates the files of a file_roll sink with the default
// TEXT serializer (each body followed by a newline).
func ReadRollText(dir string) (string, error) {
	paths, err := RollFiles(dir)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("peers: %w", err)
		}
		sb.Write(b)
	}
	return sb.String(), nil
}

// avroEvent is Flume's avro_event serializer record: {headers: map<string>, body: bytes}.
type avroEvent struct {
	Headers map[string]string `avro:"headers"`
	Body    []byte            `avro:"body"`
}

// ReadAvroEvents decodes an Avro container file written by Flume's
// avro_event serializer (sink.serializer = avro_event). A file still being
// written may end in a partial block: that is an error, so poll until the
// writer has closed it, or until the count is what you expect.
func ReadAvroEvents(path string) ([]Event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if len(b) == 0 { // file_roll creates the file before the first write
		return nil, nil
	}
	dec, err := ocf.NewDecoder(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("peers: %s: %w", path, err)
	}
	var events []Event
	for dec.HasNext() {
		var e avroEvent
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("peers: %s: event %d: %w", path, len(events), err)
		}
		events = append(events, Event{Headers: e.Headers, Body: e.Body})
	}
	if err := dec.Error(); err != nil {
		return nil, fmt.Errorf("peers: %s: %w", path, err)
	}
	return events, nil
}

// ReadAvroEventDir decodes every file a file_roll sink with the avro_event
// serializer wrote into dir, in the order they were written.
func ReadAvroEventDir(dir string) ([]Event, error) {
	paths, err := RollFiles(dir)
	if err != nil {
		return nil, err
	}
	var all []Event
	for _, p := range paths {
		ev, err := ReadAvroEvents(p)
		if err != nil {
			return nil, err
		}
		all = append(all, ev...)
	}
	return all, nil
}
