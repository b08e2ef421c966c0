package syslog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/syslog"
)

const (
	// maxDatagram is the largest syslog datagram (RFC 5426).
	maxDatagram = 64 << 10
	// udpBatch bounds the messages handed to the channels in one call.
	udpBatch = 100
	// udpQueue messages wait between the socket and the channels.
	udpQueue = 1024
)

// UDPSource is a running syslogudp source.
type UDPSource struct {
	host    string
	port    int
	clients clientHeaders
	parser  *syslog.Parser

	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex
	conn      *net.UDPConn
	done      chan struct{}
	runCtx    context.Context
	cancelRun context.CancelFunc

	dropLog, readLog ratelog.Limiter
}

// NewUDP builds a syslogudp source without touching the network.
func NewUDP(env sluice.Env, cfg *UDPConfig) (*UDPSource, error) {
	return &UDPSource{
		host: cfg.Host, port: cfg.Port,
		clients: clientHeaders{ip: cfg.ClientIPHeader, name: cfg.ClientHostnameHeader},
		parser:  &syslog.Parser{Style: syslog.StyleUtils, Keep: syslog.ParseKeep(cfg.KeepFields)},
		log:     env.Logger, proc: env.Processor, counters: env.SourceCounters,
	}, nil
}

// BatchSize is the most messages handed to the channels in one call.
func (s *UDPSource) BatchSize() int { return udpBatch }

// Addr is the address the source listens on, or nil before Start.
func (s *UDPSource) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	return s.conn.LocalAddr()
}

// Start binds the port; one goroutine reads datagrams, another hands them
// to the channels, so a slow channel does not stop the socket being read.
func (s *UDPSource) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return errors.New("syslogudp source already started")
	}
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("syslogudp source: listen on %s: %w", addr, err)
	}
	s.conn = pc.(*net.UDPConn)
	_ = s.conn.SetReadBuffer(4 << 20) // ride out bursts; the kernel may cap it
	queue := make(chan *sluice.Event, udpQueue)
	s.done = make(chan struct{})
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.log.Info("syslogudp source listening", "addr", s.conn.LocalAddr().String())
	go s.read(s.conn, queue)
	go s.deliver(queue, s.done)
	return nil
}

func (s *UDPSource) read(conn *net.UDPConn, queue chan<- *sluice.Event) {
	defer close(queue)
	buf := make([]byte, maxDatagram+1)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.counters.EventReadFail.Add(1)
			if ok, held := s.readLog.Allow(); ok {
				s.log.Warn("syslogudp source: read failed", "err", err, "similar_warnings_suppressed", held)
			}
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		msg := buf[:min(n, maxDatagram)]
		// A trailing newline ends the message; it is not part of it.
		if l := len(msg); l > 0 && msg[l-1] == '\n' {
			msg = msg[:l-1]
			if l > 1 && msg[l-2] == '\r' {
				msg = msg[:l-2]
			}
		}
		h, body := s.parser.Parse(msg, false)
		s.clients.add(s.runCtx, h, from)
		queue <- &sluice.Event{Headers: h, Body: body}
	}
}

func (s *UDPSource) deliver(queue <-chan *sluice.Event, done chan<- struct{}) {
	defer close(done)
	handoff.DrainQueue(queue, udpBatch, func(batch []*sluice.Event) {
		if err := s.proc.Process(s.runCtx, batch, sluice.CallEvents); err != nil {
			if ok, held := s.dropLog.Allow(); ok {
				s.log.Warn("syslogudp source: channels refused messages; they are lost (UDP cannot push back)",
					"messages", len(batch), "err", err, "similar_warnings_suppressed", held)
			}
		}
	})
}

// Stop closes the socket, then hands the messages already read to the
// channels within ctx's deadline.
func (s *UDPSource) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	conn, done := s.conn, s.done
	s.conn = nil
	conn.Close()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelRun()
		<-done
		err = fmt.Errorf("syslogudp source: queued messages not delivered by the stop deadline: %w", ctx.Err())
	}
	s.cancelRun()
	s.log.Info("syslogudp source stopped", "addr", conn.LocalAddr().String())
	return err
}
