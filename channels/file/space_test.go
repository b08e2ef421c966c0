package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

// smallDisk pretends the channel's directories sit on a file system of
// size bytes: free space is size less what their files hold. The writers
// really write (to the test's temporary directory), but size their
// segments, and refuse, by this measure.
type smallDisk struct {
	mu   sync.Mutex
	size int64
	dirs []string
}

func (d *smallDisk) free(string) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	used := int64(0)
	for _, dir := range d.dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				used += fi.Size()
			}
		}
	}
	return uint64(max(0, d.size-used)), nil
}

// A data disk smaller than one log segment (64 MiB here; the disk is
// 6 MiB): segments are sized to the space there is, puts are refused with
// a clear error once it is used up, takes still commit, and once they
// have taken everything the used-up segments are deleted and puts are
// accepted again — round after round, nothing lost, no take refused, and
// the lack of room said once. Before, the writer zero-filled a 64 MiB
// segment at every commit until the disk said no, and takes could not
// commit at all (the events came back again and again).
func TestTinyDiskPutsPauseTakesDrain(t *testing.T) {
	root := t.TempDir()
	props := dirProps(root, map[string]string{
		"maxFileSize":         "2146435071",
		"checkpointInterval":  "3600000", // only the checkpoints the channel asks for
		"transactionCapacity": "1000",
		"keep-alive":          "0",
	})
	c, logs, _, err := build(t, props)
	if err != nil {
		t.Fatal(err)
	}
	disk := &smallDisk{size: 6 << 20, dirs: []string{props["checkpointDir"], props["dataDirs"]}}
	c.setFreeSpace(disk.free)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })

	body := strings.Repeat("x", 200)
	batch := func(from int) []*sluice.Event {
		out := make([]*sluice.Event, 500)
		for i := range out {
			out[i] = &sluice.Event{Body: fmt.Appendf(nil, "%09d %s", from+i, body)}
		}
		return out
	}
	next, taken := 0, 0
	for round := 0; round < 4; round++ {
		// Fill: the disk holds some 25,000 of these events.
		var refused error
		for refused == nil {
			if next > 200000 {
				t.Fatalf("round %d: %d events put on a 6 MiB disk and none refused", round, next)
			}
			if refused = put(c, batch(next)); refused == nil {
				next += 500
			}
		}
		if !errors.Is(refused, ErrDiskSpace) || !errors.Is(refused, sluice.ErrChannelFull) {
			t.Fatalf("round %d: put refused with %v, want a disk-space refusal (channel full)", round, refused)
		}
		if !strings.Contains(refused.Error(), props["dataDirs"]) || !strings.Contains(refused.Error(), "free") {
			t.Errorf("refusal %q does not say where and how much is free", refused)
		}
		// Takes commit although puts are refused.
		for _, e := range drain(t, c) {
			if want := fmt.Sprintf("%09d", taken); string(e.Body[:9]) != want {
				t.Fatalf("round %d: took %q, want event %s", round, e.Body[:9], want)
			}
			taken++
		}
		if taken != next {
			t.Fatalf("round %d: took %d of the %d events put", round, taken, next)
		}
		// Used-up segments go at the checkpoint the refusal asked for:
		// puts are accepted again, without any restart.
		deadline := time.Now().Add(30 * time.Second)
		for put(c, batch(next)) != nil {
			if time.Now().After(deadline) {
				free, _ := disk.free("")
				t.Fatalf("round %d: puts still refused 30 s after every event was taken (%d bytes free)\n%s", round, free, logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		next += 500
		if round == 0 && next < 10000 {
			t.Errorf("only %d events fitted on a 6 MiB disk: segments not sized to the space", next)
		}
	}
	if n := strings.Count(logs.String(), "file channel: no room for a new log segment"); n != 1 {
		t.Errorf("the lack of room was logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "room for new log segments again"); n < 1 {
		t.Errorf("the return of room was not logged:\n%s", logs)
	}
	segs, _ := filepath.Glob(filepath.Join(props["dataDirs"], "log-*"))
	t.Logf("%d events put and taken over 4 rounds; segments now: %d", next, len(segs))
}

// Below minimumRequiredSpace puts are refused with what and where, said
// once in the log, while takes still commit (Flume refuses those too; a
// channel that cannot be drained cannot free its disk); puts resume by
// themselves when space returns.
func TestBelowMinimumSpaceTakesStillCommit(t *testing.T) {
	c := openChan(t, map[string]string{"minimumRequiredSpace": "104857600"})
	var mu sync.Mutex
	var free uint64 = 1 << 30
	c.setFreeSpace(func(string) (uint64, error) { mu.Lock(); defer mu.Unlock(); return free, nil })
	mustPut(t, c.Channel, evs(0, 10))
	mu.Lock()
	free = 3 << 20
	mu.Unlock()
	for i := 0; i < 5; i++ {
		err := put(c.Channel, evs(10, 1))
		if !errors.Is(err, ErrDiskSpace) || !strings.Contains(err.Error(), "3 MiB free, less than minimumRequiredSpace (100 MiB)") {
			t.Fatalf("put with 3 MiB free: %v", err)
		}
	}
	if got := takeN(t, c.Channel, 10); len(got) != 10 {
		t.Fatalf("took %d of 10 events with puts refused", len(got))
	}
	if n := strings.Count(c.logs.String(), "disk almost full"); n != 1 {
		t.Errorf("low space logged %d times for 5 refusals, want once:\n%s", n, c.logs)
	}
	mu.Lock()
	free = 1 << 30
	mu.Unlock()
	mustPut(t, c.Channel, evs(10, 1))
	if !strings.Contains(c.logs.String(), "disk space is back") {
		t.Errorf("the return of space was not logged:\n%s", c.logs)
	}
}

// Free space hovering around minimumRequiredSpace does not log at every
// crossing: the first refusal and its end are said, the next crossings
// within the minute are not.
func TestLowSpaceFlappingLoggedOnce(t *testing.T) {
	c := openChan(t, map[string]string{"minimumRequiredSpace": "104857600"})
	var mu sync.Mutex
	var free uint64
	c.setFreeSpace(func(string) (uint64, error) { mu.Lock(); defer mu.Unlock(); return free, nil })
	set := func(v uint64) { mu.Lock(); free = v; mu.Unlock() }
	for i := 0; i < 5; i++ {
		set(99 << 20)
		if err := put(c.Channel, evs(0, 1)); !errors.Is(err, ErrDiskSpace) {
			t.Fatalf("put with 99 MiB free: %v", err)
		}
		set(101 << 20)
		mustPut(t, c.Channel, evs(0, 1))
	}
	logs := c.logs.String()
	if n := strings.Count(logs, "disk almost full"); n != 1 {
		t.Errorf("5 crossings logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "disk space is back"); n != 1 {
		t.Errorf("5 returns logged %d times, want once:\n%s", n, logs)
	}
}
