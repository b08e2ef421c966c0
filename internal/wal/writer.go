package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// MaxRecordBytes bounds one request: offsets are 32-bit.
const MaxRecordBytes = 1 << 30

// Options configure a Writer.
type Options struct {
	Dir string
	// SegmentSize is where segments roll (a request larger than a whole
	// segment gets a segment of its own). The first segment of a writer
	// is smaller when this is above 4 MiB.
	SegmentSize int64
	// NextID hands out segment ids, unique across every directory of the
	// channel.
	NextID func() uint32
	// FirstSeq is the sequence number of the first frame written.
	FirstSeq uint64
	// SyncEvery bounds how long data of requests that did not ask for an
	// fsync may stay unsynced.
	SyncEvery time.Duration
	Logger    *slog.Logger
	// KeepFree is space new segments leave free on the file system (for
	// the checkpoint, say). Segments shrink to fit what is left, down to
	// 256 KiB; below that the directory counts as full.
	KeepFree uint64
	// KeepMore, when set, is more space to leave free, measured at each
	// preparation (room for two checkpoints of the queue as it is now,
	// when they are written to the same file system); takes that cannot
	// roll may grow their segment into half of it.
	KeepMore func() uint64
	// FreeSpace measures a directory's free bytes (FreeSpace when nil).
	FreeSpace func(dir string) (uint64, error)
	// OnSpace is called each time the directory has no room for a new
	// segment (with the reason), and once when it has room again (nil).
	OnSpace func(*NoSpaceError)

	// Test hooks: called around every fdatasync of a segment.
	beforeSync func()
	afterSync  func(f *os.File)
}

// Request is one transaction's records, appended in one piece.
type Request struct {
	Data []byte
	// Sync asks for Wait to return only once Data is fsync'd; otherwise it
	// returns once Data is written (it then survives a process crash, and
	// is fsync'd within SyncEvery).
	Sync bool
	// Put marks a request that adds events. When the directory is short
	// of space such a request may not roll into the last prepared
	// segment: that one is kept for takes, so that the events already
	// stored can always be taken and their segments freed.
	Put bool

	// Set when Wait returns: where Data[0] landed, or why it did not.
	Seg uint32
	Off uint32
	Err error

	done chan struct{}
}

// NewRequest returns a request for data.
func NewRequest(data []byte, sync bool) *Request {
	return &Request{Data: data, Sync: sync, done: make(chan struct{})}
}

// Wait blocks until the writer has handled the request.
func (r *Request) Wait() error {
	<-r.done
	return r.Err
}

type prepared struct {
	id   uint32
	path string
	size int64
	err  error
}

// firstSegmentMax bounds a writer's first segment: Open zero-fills it
// while the channel starts, so it costs a 4 MiB write rather than a full
// segment's (64 MiB, some 50 ms); the next segments are prepared in the
// background at full size.
const firstSegmentMax = 4 << 20

// Writer appends requests to one directory's segments. Concurrent
// requests are gathered into one frame (one write syscall) and share one
// fdatasync: group commit.
type Writer struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	pending []*Request
	syncs   []chan error
	closing bool
	abandon bool
	failed  error // sticky: after a failed write the file's state is unknown
	pos     Position
	kick    chan struct{}
	exited  chan struct{}

	spaceMu sync.Mutex
	short   bool // last told OnSpace there was no room

	// Owned by the loop goroutine.
	f        *os.File
	size     int64 // the current segment's prepared size
	id       uint32
	off      uint32
	synced   uint32
	dirty    bool
	seq      uint64
	lastSync time.Time
	next     chan prepared // the background preparation's result
	ready    *prepared     // that result once received and not yet used
	roomy    bool          // the preparation under way had room to spare
	buf      []byte
	spare    []*Request
}

// Position is where the next frame of a directory will go.
type Position struct {
	Seg uint32
	Off uint32
	Seq uint64 // sequence number of the next frame
}

// Open prepares and activates a fresh segment in opts.Dir and starts the
// writer's goroutine. It never appends to an existing segment: recovery
// leaves old tails alone.
func Open(opts Options) (*Writer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = time.Second
	}
	w := &Writer{opts: opts, log: opts.Logger, kick: make(chan struct{}, 1), exited: make(chan struct{}),
		seq: opts.FirstSeq, next: make(chan prepared, 1)}
	p := w.prepareFit(opts.NextID(), min(opts.SegmentSize, firstSegmentMax))
	if p.err != nil {
		return nil, p.err
	}
	if err := w.activate(p); err != nil {
		os.Remove(p.path)
		return nil, err
	}
	w.prepareNext()
	w.pos = Position{Seg: w.id, Off: w.off, Seq: w.seq}
	go w.loop()
	return w, nil
}

// Dir is the directory written.
func (w *Writer) Dir() string { return w.opts.Dir }

// Submit queues r; Wait on r for the outcome.
func (w *Writer) Submit(r *Request) {
	w.mu.Lock()
	if w.failed != nil || w.closing {
		err := w.failed
		w.mu.Unlock()
		if err == nil {
			err = errClosed
		}
		r.Err = err
		close(r.done)
		return
	}
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

var errClosed = errors.New("log writer closed")

// Sync returns once everything written so far is fsync'd.
func (w *Writer) Sync() error {
	ch := make(chan error, 1)
	w.mu.Lock()
	if w.failed != nil || w.closing {
		err := w.failed
		w.mu.Unlock()
		if err == nil {
			return errClosed
		}
		return err
	}
	w.syncs = append(w.syncs, ch)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return <-ch
}

// Position is the end of what was written: the start of the next frame.
func (w *Writer) Position() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pos
}

// Err is the writer's sticky failure, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// Abandon stops the writer as a killed process would: pending requests
// fail unwritten and nothing more is fsync'd. For crash tests.
func (w *Writer) Abandon() {
	w.mu.Lock()
	w.closing, w.abandon = true, true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	<-w.exited
}

// Close writes and fsyncs what is pending, then stops the writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	<-w.exited
	return w.Err()
}

func (w *Writer) loop() {
	defer close(w.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-w.kick:
		case <-timer.C:
		}
		w.mu.Lock()
		reqs, syncs, closing, failed := w.pending, w.syncs, w.closing, w.failed
		w.pending, w.syncs = w.spare[:0], nil
		abandon := w.abandon
		w.mu.Unlock()
		if abandon {
			for _, r := range reqs {
				r.Err = errClosed
				close(r.done)
			}
			for _, ch := range syncs {
				ch <- errClosed
			}
			w.shutdown()
			return
		}

		err := failed
		if err == nil && len(reqs) > 0 {
			err = w.writeFrames(reqs)
		}
		needSync := closing || len(syncs) > 0 || (w.dirty && time.Since(w.lastSync) >= w.opts.SyncEvery)
		for _, r := range reqs {
			needSync = needSync || r.Sync
		}
		if err == nil {
			// Requests that only need the write are done: they need not
			// wait for the fsync that the others in the frame asked for.
			for i, r := range reqs {
				if !r.Sync {
					close(r.done)
					reqs[i] = nil
				}
			}
		}
		if err == nil && needSync && w.dirty {
			if serr := w.datasync(); serr != nil {
				// After a failed fsync Linux may have dropped the dirty
				// pages: nothing written since the last good fsync can
				// be trusted, so the writer stops for good.
				err = fmt.Errorf("fsync %s: %w", w.f.Name(), serr)
			} else {
				w.synced, w.dirty, w.lastSync = w.off, false, time.Now()
			}
		}
		w.mu.Lock()
		if err != nil && w.failed == nil {
			w.failed = err
			w.log.Error("file channel log writer failed; the channel refuses commits until restarted", "dir", w.opts.Dir, "err", err)
		}
		w.pos = Position{Seg: w.id, Off: w.off, Seq: w.seq}
		w.mu.Unlock()
		for _, r := range reqs {
			if r == nil {
				continue
			}
			if r.Err == nil {
				r.Err = err
			}
			close(r.done)
		}
		clear(reqs)
		w.spare = reqs[:0]
		for _, ch := range syncs {
			ch <- err
		}
		if closing {
			w.shutdown()
			return
		}
		if w.dirty && err == nil {
			timer.Reset(max(0, w.opts.SyncEvery-time.Since(w.lastSync)))
		}
	}
}

// writeFrames appends reqs as few frames as the segment size allows.
// When the segment is full and no next one can be had (no space), the
// requests that still fit are written and the others fail; that failure is
// not sticky: the segment is intact, and a later request rolls again.
func (w *Writer) writeFrames(reqs []*Request) error {
	// Puts are written only while a next segment is there for takes;
	// a roll refused to puts may still be done for takes.
	spareErr := w.spareForPuts(reqs)
	var rollErr [2]error // by Request.Put
	for i := 0; i < len(reqs); {
		if reqs[i].Put && spareErr != nil {
			reqs[i].Err = spareErr
			i++
			continue
		}
		room := w.size - int64(w.off) - FrameHeaderSize
		j, size := i, 0
		for j < len(reqs) && int64(size+len(reqs[j].Data)) <= room && (!reqs[j].Put || spareErr == nil) {
			size += len(reqs[j].Data)
			j++
		}
		if j == i {
			k := b2i(reqs[i].Put)
			if w.off > HeaderSize && rollErr[k] == nil {
				if err := w.roll(reqs[i].Put); err != nil {
					rollErr[k] = err
					if k == 0 {
						rollErr[1] = err // no roll for takes: none for puts
					}
				} else {
					// The next segment was used: ask again for puts.
					spareErr, rollErr = w.spareForPuts(reqs[i:]), [2]error{}
				}
				continue
			}
			if rollErr[k] != nil {
				if k == 0 && w.canGrow(len(reqs[i].Data)) {
					// A take with no segment to roll into grows this
					// one into the space kept free: the events stored
					// can always be taken, and their segments freed.
					j, size = i+1, len(reqs[i].Data)
					if err := w.writeFrame(reqs[i:j], size); err != nil {
						return err
					}
					i = j
					continue
				}
				// Cannot roll: this one fails, a smaller one may fit.
				reqs[i].Err = rollErr[k]
				i++
				continue
			}
			if len(reqs[i].Data) > MaxRecordBytes {
				reqs[i].Err = fmt.Errorf("transaction of %d bytes is larger than the %d a log segment can take", len(reqs[i].Data), MaxRecordBytes)
				i++
				continue
			}
			// Larger than a whole segment: it grows this fresh one, if
			// the file system has the room (a failed write would stop
			// the writer for good).
			need := int64(w.off) + FrameHeaderSize + int64(len(reqs[i].Data)) - w.size
			if free, err := w.freeSpace(w.opts.Dir); err == nil && int64(free)-int64(w.keepFree()) < need {
				reqs[i].Err = &NoSpaceError{Dir: w.opts.Dir, Free: free, Need: uint64(need) + w.opts.KeepFree}
				w.noteSpace(reqs[i].Err)
				i++
				continue
			}
			j, size = i+1, len(reqs[i].Data)
		}
		if err := w.writeFrame(reqs[i:j], size); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// spareForPuts checks for the next segment when reqs hold a put.
func (w *Writer) spareForPuts(reqs []*Request) error {
	for _, r := range reqs {
		if r.Put {
			return w.haveSpare()
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *Writer) writeFrame(reqs []*Request, size int) error {
	total := FrameHeaderSize + size
	if cap(w.buf) < total {
		w.buf = make([]byte, total, total+total/4)
	}
	b := w.buf[:total]
	putFrameHeader(b, size, w.seq, w.synced)
	at := FrameHeaderSize
	for _, r := range reqs {
		copy(b[at:], r.Data)
		r.Seg, r.Off = w.id, w.off+uint32(at)
		at += len(r.Data)
	}
	if _, err := w.f.WriteAt(b, int64(w.off)); err != nil {
		return fmt.Errorf("write %s at %d: %w", w.f.Name(), w.off, err)
	}
	w.off += uint32(total)
	w.seq++
	w.dirty = true
	return nil
}

// roll moves to the next segment. The old one is fsync'd first, so only
// the newest segment of a directory can ever end in a torn frame. A roll
// for puts (forPut) is refused when no segment could be prepared after
// the next one: the next one is then kept for takes.
func (w *Writer) roll(forPut bool) error {
	if w.dirty {
		if err := w.datasync(); err != nil {
			return fmt.Errorf("fsync %s: %w", w.f.Name(), err)
		}
		w.synced, w.dirty, w.lastSync = w.off, false, time.Now()
	}
	if err := w.haveSpare(); err != nil {
		return err
	}
	if forPut {
		if err := w.roomAfter(); err != nil {
			w.noteSpace(err)
			return err
		}
	}
	if w.ready == nil {
		p := <-w.next // still being prepared: wait for it
		w.ready = &p
		if p.err != nil {
			return p.err
		}
	}
	p := *w.ready
	w.ready = nil
	old := w.f
	if err := w.activate(p); err != nil {
		w.f = old
		os.Remove(p.path)
		w.ready = &prepared{err: err}
		return err
	}
	old.Close()
	w.log.Debug("log segment rolled", "dir", w.opts.Dir, "segment", p.id, "size", p.size, "for_put", forPut)
	w.prepareNext()
	return nil
}

func (w *Writer) datasync() error {
	if w.opts.beforeSync != nil {
		w.opts.beforeSync()
	}
	err := datasync(w.f)
	if err == nil && w.opts.afterSync != nil {
		w.opts.afterSync(w.f)
	}
	return err
}

func (w *Writer) activate(p prepared) error {
	f, err := activate(w.opts.Dir, p.path, p.id)
	if err != nil {
		return err
	}
	w.f, w.size, w.id, w.off, w.synced, w.dirty = f, p.size, p.id, HeaderSize, HeaderSize, false
	return nil
}

// prepareNext zero-fills the next segment in the background, so a roll
// costs a rename and a directory fsync, not a 64 MiB write.
// The room is measured here, before the goroutine starts, so that a
// preparation under way means a segment is coming.
func (w *Writer) prepareNext() {
	id := w.opts.NextID()
	size, err := w.fit(w.opts.SegmentSize)
	if err != nil {
		w.ready = &prepared{id: id, err: err}
		w.log.Debug("no room to prepare the next log segment", "dir", w.opts.Dir, "err", err)
		w.noteSpace(err)
		return
	}
	w.roomy = size == w.opts.SegmentSize && w.fitsTwice(size)
	go func() {
		p := w.prepareSized(id, size)
		w.noteSpace(p.err)
		w.next <- p
	}()
}

func (w *Writer) shutdown() {
	if w.f != nil {
		w.f.Close()
	}
	p := w.ready
	if p == nil {
		q := <-w.next
		p = &q
	}
	if p.err == nil {
		os.Remove(p.path)
	}
}
