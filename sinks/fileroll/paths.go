package fileroll

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

type pathKind int

const (
	pathDefault  pathKind = iota // <prefix><series start millis>-<n>[.ext]
	pathRollTime                 // <prefix><yyyyMMddHHmmss>-<n>[.ext], n restarting each second
)

func parsePathManager(s string) (pathKind, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEFAULT":
		return pathDefault, nil
	case "ROLLTIME":
		return pathRollTime, nil
	}
	return 0, fmt.Errorf("unknown path manager %q (DEFAULT or ROLLTIME)", s)
}

// pathManager names the files of one sink, as Flume's DefaultPathManager and
// RollTimePathManager do.
type pathManager struct {
	kind          pathKind
	prefix, ext   string
	loc           *time.Location
	series        int64 // DEFAULT: when the series started, in ms
	index         int
	lastRollStamp string
}

// reset starts a new series (a new start timestamp and numbering from 1).
func (p *pathManager) reset(now time.Time) {
	p.series = now.UnixMilli()
	p.index = 0
	p.lastRollStamp = ""
}

// next returns the next file name (without directory).
func (p *pathManager) next(now time.Time) string {
	var b strings.Builder
	b.WriteString(p.prefix)
	switch p.kind {
	case pathRollTime:
		stamp := now.In(p.loc).Format("20060102150405")
		if stamp != p.lastRollStamp {
			p.index = 0
			p.lastRollStamp = stamp
		}
		b.WriteString(stamp)
	default:
		b.WriteString(strconv.FormatInt(p.series, 10))
	}
	p.index++
	b.WriteByte('-')
	b.WriteString(strconv.Itoa(p.index))
	if p.ext != "" {
		b.WriteByte('.')
		b.WriteString(p.ext)
	}
	return b.String()
}
