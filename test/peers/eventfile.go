package peers

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Event is one Flume event as the peer tools send or write it.
type Event struct {
	Headers map[string]string
	Body    []byte
}

// The event file FlumeSend.java reads (all integers big-endian int32, the
// layout of Java's DataInputStream.readInt; strings UTF-8):
//
//	"FSND" version(=1) count
//	count × { nheaders, nheaders × { klen key vlen value }, blen body }
const (
	eventFileMagic   = "FSND"
	eventFileVersion = 1
)

// WriteEventFile writes events in FlumeSend's event-file format. Header keys
// are written sorted, so the same events give the same bytes.
func WriteEventFile(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	var n [4]byte
	putInt := func(v int) error {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("peers: event file: length %d out of range", v)
		}
		binary.BigEndian.PutUint32(n[:], uint32(v))
		_, err := bw.Write(n[:])
		return err
	}
	putBytes := func(b []byte) error {
		if err := putInt(len(b)); err != nil {
			return err
		}
		_, err := bw.Write(b)
		return err
	}
	bw.WriteString(eventFileMagic)
	putInt(eventFileVersion)
	if err := putInt(len(events)); err != nil {
		return err
	}
	for _, e := range events {
		keys := make([]string, 0, len(e.Headers))
		for k := range e.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		putInt(len(keys))
		for _, k := range keys {
			if err := putBytes([]byte(k)); err != nil {
				return err
			}
			if err := putBytes([]byte(e.Headers[k])); err != nil {
				return err
			}
		}
		if err := putBytes(e.Body); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadEventFile reads what WriteEventFile wrote.
func ReadEventFile(r io.Reader) ([]Event, error) {
	br := bufio.NewReader(r)
	var n [4]byte
	getInt := func() (int, error) {
		if _, err := io.ReadFull(br, n[:]); err != nil {
			return 0, err
		}
		v := binary.BigEndian.Uint32(n[:])
		if v > math.MaxInt32 {
			return 0, errors.New("negative length")
		}
		return int(v), nil
	}
	getBytes := func() ([]byte, error) {
		l, err := getInt()
		if err != nil {
			return nil, err
		}
		b := make([]byte, l)
		_, err = io.ReadFull(br, b)
		return b, err
	}
	wrap := func(err error) error { return fmt.Errorf("peers: event file: %w", err) }
	if _, err := io.ReadFull(br, n[:]); err != nil || string(n[:]) != eventFileMagic {
		return nil, wrap(fmt.Errorf("no %q magic", eventFileMagic))
	}
	if v, err := getInt(); err != nil || v != eventFileVersion {
		return nil, wrap(fmt.Errorf("version %d, want %d (%v)", v, eventFileVersion, err))
	}
	count, err := getInt()
	if err != nil {
		return nil, wrap(err)
	}
	events := make([]Event, 0, count)
	for i := 0; i < count; i++ {
		nh, err := getInt()
		if err != nil {
			return nil, wrap(err)
		}
		e := Event{Headers: make(map[string]string, nh)}
		for j := 0; j < nh; j++ {
			k, err := getBytes()
			if err != nil {
				return nil, wrap(err)
			}
			v, err := getBytes()
			if err != nil {
				return nil, wrap(err)
			}
			e.Headers[string(k)] = string(v)
		}
		if e.Body, err = getBytes(); err != nil {
			return nil, wrap(err)
		}
		events = append(events, e)
	}
	return events, nil
}
