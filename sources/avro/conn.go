package avro

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/tcpserver"
)

func (s *Source) serve(raw net.Conn) {
	peer := raw.RemoteAddr().String()
	if s.filter != nil {
		if ok, rule := s.filter.allow(raw.RemoteAddr()); !ok {
			s.log.Warn("avro source: connection refused by ipFilterRules", "remote", peer, "rule", rule)
			return
		}
	}
	dc := &tcpserver.DeadlineConn{Conn: raw, Timeout: s.cfg.ReadTimeout, Stopping: &s.stopping}
	var conn net.Conn = dc
	if s.deflate {
		zc, err := avroipc.NewDeflateConn(dc, 6) // Flume's source always compresses at level 6
		if err != nil {
			s.log.Error("avro source: deflate", "remote", peer, "err", err)
			return
		}
		conn = zc
	}
	if s.tls != nil {
		tc := tls.Server(conn, s.tls)
		if err := tc.Handshake(); err != nil {
			if !s.stopping.Load() {
				s.badInput(peer, "TLS handshake failed", err)
			}
			return
		}
		conn = tc
	}
	defer conn.Close()

	h := &handler{s: s, peer: peer, dc: dc, conn: conn}
	h.br = bufio.NewReaderSize(conn, 64<<10)
	h.fr = avroipc.NewFrameReader(h.br, s.cfg.MaxFrameSize)
	h.sess = avroipc.NewServerSession(s.protocols, s.cfg.MaxFrameSize)
	h.run()
}

type handler struct {
	s    *Source
	peer string
	dc   *tcpserver.DeadlineConn
	conn net.Conn
	br   *bufio.Reader
	fr   *avroipc.FrameReader
	sess *avroipc.ServerSession
	out  []byte
}

func (h *handler) run() {
	s := h.s
	for {
		// Between requests the idle timeout applies; from the first byte
		// of a request, the read timeout.
		h.dc.Timeout = s.cfg.IdleTimeout
		if _, err := h.br.Peek(1); err != nil {
			h.ended(err, true)
			return
		}
		h.dc.Timeout = s.cfg.ReadTimeout
		serial, payload, err := h.fr.ReadFrame()
		if err != nil {
			h.ended(err, false)
			return
		}
		call, err := h.sess.ReadCall(payload)
		if err != nil {
			s.badInput(h.peer, "bad request", err)
			h.reply(h.sess.AppendError(h.out[:0], serial, err.Error()))
			return
		}
		st := avroipc.StatusOK
		switch call.Kind {
		case avroipc.CallAppend:
			st = h.process(call, sluice.CallAppend)
		case avroipc.CallAppendBatch:
			st = h.process(call, sluice.CallAppendBatch)
		}
		// Drop this connection's references to the events (and so to the
		// frame they share) while it waits for the next request.
		clear(call.Events)
		if !h.reply(h.sess.AppendReply(h.out[:0], serial, call.Kind, st)) {
			return
		}
	}
}

func (h *handler) process(call avroipc.Call, kind sluice.Call) avroipc.Status {
	if err := h.s.proc.Process(h.s.runCtx, call.Events, kind); err != nil {
		h.s.log.Warn("avro source: channels refused a batch; answered FAILED so the sender retries",
			"remote", h.peer, "events", len(call.Events), "err", err)
		return avroipc.StatusFailed
	}
	return avroipc.StatusOK
}

func (h *handler) reply(b []byte) bool {
	h.out = b
	if cap(h.out) > 1<<20 {
		h.out = nil
	}
	_ = h.dc.Conn.SetWriteDeadline(time.Now().Add(h.s.cfg.ReadTimeout))
	if _, err := h.conn.Write(b); err != nil {
		h.s.log.Warn("avro source: cannot answer the client; closing the connection", "remote", h.peer, "err", err)
		return false
	}
	return true
}

// ended logs why a connection's reading stopped. A clean close between
// requests and a stopping source are not worth more than a debug line.
func (h *handler) ended(err error, between bool) {
	s := h.s
	var ne net.Error
	switch {
	case errors.Is(err, tcpserver.ErrStopping), s.stopping.Load():
		s.log.Debug("avro source: closing connection for stop", "remote", h.peer)
	case between && errors.Is(err, io.EOF):
		s.log.Debug("avro source: client closed the connection", "remote", h.peer)
	case between && errors.As(err, &ne) && ne.Timeout():
		s.log.Info("avro source: closing idle connection", "remote", h.peer, "idle-timeout", s.cfg.IdleTimeout)
	case errors.As(err, &ne) && ne.Timeout():
		s.badInput(h.peer, "client stalled in the middle of a request", err)
	default:
		s.badInput(h.peer, "cannot read request", err)
	}
}

// badInput logs a connection's bad input and counts it; the caller closes
// that connection, and the source goes on serving the others.
func (s *Source) badInput(peer, what string, err error) {
	s.counters.EventReadFail.Add(1)
	s.log.Warn("avro source: "+what+"; closing the connection", "remote", peer, "err", err)
}
