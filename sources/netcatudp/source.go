package netcatudp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/internal/ratelog"
)

// Source is a running UDP netcat source.
type Source struct {
	cfg      Config
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex
	conn      *net.UDPConn
	stopped   bool
	queue     chan *sluice.Event
	done      chan struct{} // closed when the delivering goroutine ends
	runCtx    context.Context
	cancelRun context.CancelFunc

	dropLog, truncLog ratelog.Limiter // a flood of datagrams must not flood the log
}

// New builds the source without touching the network.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	return &Source{cfg: *cfg, log: env.Logger, proc: env.Processor, counters: env.SourceCounters}, nil
}

// BatchSize is the most datagrams handed to the channels in one call.
func (s *Source) BatchSize() int { return maxBatch }

// Addr is the address the source listens on, or nil before Start.
func (s *Source) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	return s.conn.LocalAddr()
}

// Start binds the port; one goroutine reads datagrams, another hands them
// to the channels, so a slow channel does not stop the socket being read.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.stopped {
		return errors.New("netcatudp source already started")
	}
	addr := net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("netcatudp source: listen on %s: %w", addr, err)
	}
	s.conn = pc.(*net.UDPConn)
	s.stopped = false
	s.queue = make(chan *sluice.Event, queueLen)
	s.done = make(chan struct{})
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.log.Info("netcatudp source listening", "addr", s.conn.LocalAddr().String())
	go s.read(s.conn, s.queue)
	go s.deliver(s.queue, s.done)
	return nil
}

// slabSize is how much memory datagram bodies are carved from; a body
// keeps only its own bytes of it.
const slabSize = 64 << 10

func (s *Source) read(conn *net.UDPConn, queue chan<- *sluice.Event) {
	defer close(queue)
	header := s.cfg.RemoteAddressHeader
	var slab []byte
	for {
		// One byte more than the limit tells a cut datagram from one of
		// exactly 2048 bytes.
		if len(slab) < maxDatagram+1 {
			slab = make([]byte, slabSize)
		}
		n, from, err := conn.ReadFromUDPAddrPort(slab[:maxDatagram+1])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.counters.EventReadFail.Add(1)
			if ok, held := s.truncLog.Allow(); ok {
				s.log.Warn("netcatudp source: read failed", "err", err, "similar_warnings_suppressed", held)
			}
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		if n > maxDatagram {
			n = maxDatagram
			s.counters.EventReadFail.Add(1)
			if ok, held := s.truncLog.Allow(); ok {
				s.log.Warn("netcatudp source: datagram longer than 2048 bytes was cut at 2048, as Flume does",
					"from", from.String(), "similar_warnings_suppressed", held)
			}
		}
		if i := bytes.IndexByte(slab[:n], '\n'); i >= 0 {
			n = i
		}
		e := &sluice.Event{Headers: map[string]string{}, Body: slab[:n:n]}
		slab = slab[n:]
		if header != "" {
			e.Headers[header] = javaAddr(from)
		}
		queue <- e
	}
}

func (s *Source) deliver(queue <-chan *sluice.Event, done chan<- struct{}) {
	defer close(done)
	handoff.DrainQueue(queue, maxBatch, func(batch []*sluice.Event) {
		if err := s.proc.Process(s.runCtx, batch, sluice.CallEvents); err != nil {
			if ok, held := s.dropLog.Allow(); ok {
				s.log.Warn("netcatudp source: channels refused datagrams; they are lost (UDP cannot push back)",
					"datagrams", len(batch), "err", err, "similar_warnings_suppressed", held)
			}
		}
	})
}

// Stop closes the socket, then hands the datagrams already read to the
// channels within ctx's deadline.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.conn == nil || s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	conn, done := s.conn, s.done
	s.mu.Unlock()

	conn.Close()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelRun()
		<-done
		err = fmt.Errorf("netcatudp source: queued datagrams not delivered by the stop deadline: %w", ctx.Err())
	}
	s.cancelRun()
	s.log.Info("netcatudp source stopped", "addr", conn.LocalAddr().String())
	return err
}

// javaAddr renders a sender the way Java's InetSocketAddress.toString does
// for an unresolved peer: "/1.2.3.4:5", "/[0:0:0:0:0:0:0:1]:5" (IPv6 groups
// in full, no "::" shortening).
func javaAddr(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	port := strconv.Itoa(int(ap.Port()))
	if a.Is4() {
		return "/" + a.String() + ":" + port
	}
	b := a.As16()
	var sb strings.Builder
	sb.WriteString("/[")
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	if z := a.Zone(); z != "" {
		sb.WriteString("%" + z)
	}
	sb.WriteString("]:" + port)
	return sb.String()
}
