package avro

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/budget"
	"github.com/sluiceio/sluice/internal/tcpserver"
)

func (s *Source) serve(raw net.Conn) {
	peer := raw.RemoteAddr().String()
	if s.filter != nil {
		if ok, rule := s.filter.allow(raw.RemoteAddr()); !ok {
			if ok, held := s.filtered.Allow(); ok {
				s.log.Warn("avro source: connection refused by ipFilterRules", "remote", peer, "rule", rule, "similar_lines_held_back", held)
			}
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
				s.report.BadInput(peer, "TLS handshake failed", err)
			}
			return
		}
		conn = tc
	}
	defer conn.Close()

	dc.Timeout = s.cfg.IdleTimeout
	first, err := tcpserver.FirstByte(conn)
	if err != nil {
		s.report.Ended(peer, err, true)
		return
	}
	h := &handler{s: s, peer: peer, dc: dc, conn: conn}
	h.br = bufio.NewReaderSize(first, 64<<10)
	h.fr = avroipc.NewFrameReader(h.br, s.cfg.MaxFrameSize)
	h.fr.SetBudget(s.budget, s.cfg.ReadTimeout)
	defer h.fr.Release()
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
			s.report.Ended(h.peer, err, true)
			return
		}
		h.dc.Timeout = s.cfg.ReadTimeout
		serial, payload, err := h.fr.ReadFrame()
		var over *budget.ExceededError
		if errors.As(err, &over) {
			if ok, held := s.refused.Allow(); ok {
				s.log.Warn("avro source: request refused: max-bytes-in-flight reached; closing the connection (the sender retries)",
					"remote", h.peer, "err", err, "refused_since_last_line", held)
			}
			return
		}
		if err != nil {
			s.report.Ended(h.peer, err, false)
			return
		}
		call, err := h.sess.ReadCall(payload)
		if err != nil {
			s.report.BadInput(h.peer, "bad request", err)
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
		h.fr.Release()
	}
}

func (h *handler) process(call avroipc.Call, kind sluice.Call) avroipc.Status {
	if err := h.s.proc.Process(h.s.runCtx, call.Events, kind); err != nil {
		if ok, held := h.s.chanFull.Allow(); ok {
			h.s.log.Warn("avro source: channels refused a batch; answered FAILED so the sender retries",
				"remote", h.peer, "events", len(call.Events), "err", err, "refusals_not_logged", held)
		}
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
