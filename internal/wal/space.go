package wal

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrNoSpace is wrapped by every error saying a directory has no room for
// a new segment.
var ErrNoSpace = errors.New("no room for a new log segment")

// NoSpaceError says which directory lacked room, and how much.
type NoSpaceError struct {
	Dir  string
	Free uint64 // bytes free when measured
	Need uint64 // bytes the smallest acceptable segment needs, margin included
	Err  error  // the failed write, when the file system said so first
}

func (e *NoSpaceError) Error() string {
	s := fmt.Sprintf("%s in %s: %s free, a segment needs %s", ErrNoSpace, e.Dir, mib(e.Free), mib(e.Need))
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *NoSpaceError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrNoSpace, e.Err}
	}
	return []error{ErrNoSpace}
}

// mib renders a byte count for people: MiB with one decimal, or KiB when
// small.
func mib(n uint64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// minSegment is the smallest segment the writer prepares when space is
// short. Below it the directory counts as full: segments that small would
// roll at every few commits.
const minSegment = 256 << 10

// fit sizes a new segment to the space there is: want when the file
// system has room for it twice over (this one, and the one after it), else
// half of what is left, but never less than minSegment. It prepares
// nothing: a directory without room is reported at the cost of one
// statfs, not of writing zeros until the disk says no.
func (w *Writer) fit(want int64) (int64, error) {
	floor := min(want, minSegment)
	free, err := w.freeSpace(w.opts.Dir)
	if err != nil {
		return want, nil // cannot measure: let the write tell
	}
	keep := w.keepFree()
	avail := int64(free) - int64(keep)
	size := min(want, max(avail/2, floor))
	if size > avail {
		return 0, &NoSpaceError{Dir: w.opts.Dir, Free: free, Need: uint64(floor) + keep}
	}
	return size, nil
}

// roomAfter reports whether another segment could be prepared after the
// spare one is used: puts may roll only then, so that takes always have a
// segment to roll into.
func (w *Writer) roomAfter() error {
	floor := min(w.opts.SegmentSize, minSegment)
	free, err := w.freeSpace(w.opts.Dir)
	if err != nil {
		return nil
	}
	if keep := w.keepFree(); int64(free)-int64(keep) < floor {
		return &NoSpaceError{Dir: w.opts.Dir, Free: free, Need: uint64(floor) + keep}
	}
	return nil
}

// haveSpare reports whether the next segment is there (or on its way):
// when its preparation failed it tries again, sized to the space there
// is now; without room that costs a statfs, not a zero-fill.
func (w *Writer) haveSpare() error {
	if w.ready == nil {
		if w.roomy {
			select {
			case p := <-w.next:
				w.ready = &p
			default:
				return nil // being prepared, with room to spare
			}
		} else {
			// Space is short: a put goes in only once the next
			// segment is known to be there for takes.
			p := <-w.next
			w.ready = &p
		}
	}
	if w.ready.err == nil {
		return nil
	}
	p := w.prepareFit(w.opts.NextID(), w.opts.SegmentSize)
	w.ready = &p
	w.noteSpace(p.err)
	return p.err
}

// prepareFit prepares segment id sized to the space there is.
func (w *Writer) prepareFit(id uint32, want int64) prepared {
	size, err := w.fit(want)
	if err != nil {
		return prepared{id: id, err: err}
	}
	return w.prepareSized(id, size)
}

// prepareSized prepares segment id of size bytes, reporting a full file
// system as a NoSpaceError.
func (w *Writer) prepareSized(id uint32, size int64) prepared {
	path, err := prepare(w.opts.Dir, id, size)
	if err != nil && errors.Is(err, syscall.ENOSPC) {
		free, _ := w.freeSpace(w.opts.Dir)
		err = &NoSpaceError{Dir: w.opts.Dir, Free: free, Need: uint64(size) + w.keepFree(), Err: err}
	}
	return prepared{id: id, path: path, size: size, err: err}
}

func (w *Writer) freeSpace(dir string) (uint64, error) {
	if w.opts.FreeSpace != nil {
		return w.opts.FreeSpace(dir)
	}
	return FreeSpace(dir)
}

// noteSpace tells the owner each time the directory has no room for a
// segment, and once when it has room again.
func (w *Writer) noteSpace(err error) {
	var ns *NoSpaceError
	short := errors.As(err, &ns)
	if !short && err != nil {
		return // some other failure: not a matter of space
	}
	w.spaceMu.Lock()
	back := !short && w.short
	w.short = short
	w.spaceMu.Unlock()
	if w.opts.OnSpace == nil {
		return
	}
	switch {
	case short:
		w.opts.OnSpace(ns)
	case back:
		w.opts.OnSpace(nil)
	}
}

// keepFree is the space new segments leave free.
func (w *Writer) keepFree() uint64 {
	k := w.opts.KeepFree
	if w.opts.KeepMore != nil {
		k += w.opts.KeepMore()
	}
	return k
}

// fitsTwice reports whether the file system has room for two more
// segments of size besides what is kept free: then a preparation under
// way will succeed barring a sudden change, and puts need not wait for it.
func (w *Writer) fitsTwice(size int64) bool {
	free, err := w.freeSpace(w.opts.Dir)
	if err != nil {
		return true
	}
	return int64(free)-int64(w.keepFree()) >= 2*size
}

// growMargin is what a segment growing past its prepared size for takes
// leaves free: a write that found the disk full would stop the writer.
const growMargin = 256 << 10

// canGrow reports whether the file system has room for n more bytes at
// the end of the current segment, with growMargin and half of KeepMore
// to spare.
func (w *Writer) canGrow(n int) bool {
	free, err := w.freeSpace(w.opts.Dir)
	keep := uint64(growMargin)
	if w.opts.KeepMore != nil {
		// Half of it: one checkpoint's room stays, the one that deletes
		// the segments these takes empty.
		keep += w.opts.KeepMore() / 2
	}
	return err == nil && free >= uint64(n)+FrameHeaderSize+keep
}
