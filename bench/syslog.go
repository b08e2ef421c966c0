package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// SyslogWorkload is syslog over TCP under load: conns clients each stream
// newline-framed RFC 5424 messages (100-byte bodies) to a syslogtcp source
// (→ memory → null). Syslog over TCP has no acknowledgements: the run ends
// when the sink side has taken every event. Flume runs the same conf.
func SyslogWorkload(conns int) Workload {
	return Workload{
		Name: fmt.Sprintf("syslogtcp → memory → null, %d connections, RFC 5424, 100-byte bodies", conns),
		Conf: func(p Ports) string {
			return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = syslogtcp\na1.sources.r1.host = 127.0.0.1\n"+
				"a1.sources.r1.port = %d\na1.sources.r1.channels = c1\n", p.Source) + memoryNull
		},
		Load:     SyslogLoad(conns),
		BodySize: 100,
		SinkKey:  "CHANNEL.c1",
	}
}

// SyslogLoad writes events as RFC 5424 lines over conns connections.
func SyslogLoad(conns int) func(ctx context.Context, p Ports, events, bodySize int) error {
	return func(ctx context.Context, p Ports, events, bodySize int) error {
		addr := fmt.Sprintf("127.0.0.1:%d", p.Source)
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		per := events / conns
		for i := 0; i < conns; i++ {
			n := per
			if i == conns-1 {
				n = events - per*(conns-1)
			}
			wg.Add(1)
			go func(id, n int) {
				defer wg.Done()
				if err := syslogConn(ctx, addr, id, n, bodySize); err != nil {
					errs <- err
				}
			}(i, n)
		}
		wg.Wait()
		close(errs)
		return errors.Join(collect(errs)...)
	}
}

func syslogConn(ctx context.Context, addr string, id, n, bodySize int) error {
	var c net.Conn
	var err error
	// Up to 30 s: a JVM agent starts slowly.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var d net.Dialer
		if c, err = d.DialContext(ctx, "tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("syslog connection %d: %w", id, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// The RFC 5424 header, then the body padded to bodySize bytes.
	msg := fmt.Sprintf("<134>1 2026-01-02T03:04:05.678Z bench-host app %d - - ", id)
	msg += strings.Repeat("x", max(bodySize-len("app 0 - - "), 1)) + "\n"
	w := bufio.NewWriterSize(c, 64<<10)
	for range n {
		if _, err := w.WriteString(msg); err != nil {
			return fmt.Errorf("syslog connection %d: %w", id, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("syslog connection %d: %w", id, err)
	}
	return nil
}
