package reliability

import (
	"bufio"
	"bytes"
	"context"
	be "encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/test/peers"
)

// sender is a well-behaved client of one source: send returns nil only
// when the source took every event of the batch (for syslog, which never
// answers, when the bytes were written).
type sender interface {
	send(ctx context.Context, bodies [][]byte) error
	close()
}

// seqLoad numbers events from 0 and sends them in batches at a steady
// rate through a sender, resending a failed batch on a new connection
// until it is taken, as avroLoad does for avro.
type seqLoad struct {
	dial         func() (sender, error)
	batch, rate  int
	acked, fails atomic.Int64
	stopc, done  chan struct{}
}

func startSeqLoad(dial func() (sender, error), batch, rate int) *seqLoad {
	l := &seqLoad{dial: dial, batch: batch, rate: rate, stopc: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *seqLoad) run() {
	defer close(l.done)
	var s sender
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	t0 := time.Now()
	next := 0
	bodies := make([][]byte, l.batch)
	for {
		if due := t0.Add(time.Duration(next) * time.Second / time.Duration(l.rate)); time.Until(due) > 0 {
			select {
			case <-l.stopc:
				return
			case <-time.After(time.Until(due)):
			}
		}
		select {
		case <-l.stopc:
			return
		default:
		}
		for i := range bodies {
			bodies[i] = seqBody(next + i)
		}
		err := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if s == nil {
				var err error
				if s, err = l.dial(); err != nil {
					s = nil
					return err
				}
			}
			return s.send(ctx, bodies)
		}()
		if err != nil {
			if s != nil {
				s.close()
				s = nil
			}
			l.fails.Add(1)
			select {
			case <-l.stopc:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		next += l.batch
		l.acked.Store(int64(next))
	}
}

func (l *seqLoad) Stop() (acked, failures int) {
	close(l.stopc)
	<-l.done
	return int(l.acked.Load()), int(l.fails.Load())
}

func events(bodies [][]byte) []*sluice.Event {
	out := make([]*sluice.Event, len(bodies))
	for i, b := range bodies {
		out[i] = &sluice.Event{Body: b}
	}
	return out
}

type avroSender struct{ c *avroipc.Client }

func (a avroSender) send(ctx context.Context, b [][]byte) error {
	return a.c.AppendBatch(ctx, events(b))
}
func (a avroSender) close() { a.c.Close() }

type thriftSender struct{ c *flumethrift.Client }

func (a thriftSender) send(ctx context.Context, b [][]byte) error {
	return a.c.AppendBatch(ctx, events(b))
}
func (a thriftSender) close() { a.c.Close() }

type httpSender struct {
	url string
	c   *http.Client
}

func (h httpSender) send(ctx context.Context, b [][]byte) error {
	type ev struct {
		Body string `json:"body"`
	}
	evs := make([]ev, len(b))
	for i := range b {
		evs[i].Body = string(b[i])
	}
	js, _ := json.Marshal(evs)
	req, err := http.NewRequestWithContext(ctx, "POST", h.url, bytes.NewReader(js))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
func (h httpSender) close() { h.c.CloseIdleConnections() }

// lineSender writes one line per event; with acks (netcat) it reads one
// "OK" per line, without (syslog) a written batch counts as taken.
type lineSender struct {
	c      net.Conn
	r      *bufio.Reader
	prefix string
	acks   bool
}

func (l *lineSender) send(ctx context.Context, b [][]byte) error {
	var buf bytes.Buffer
	for _, body := range b {
		buf.WriteString(l.prefix)
		buf.Write(body)
		buf.WriteByte('\n')
	}
	_ = l.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := l.c.Write(buf.Bytes()); err != nil {
		return err
	}
	if !l.acks {
		return nil
	}
	for range b {
		line, err := l.r.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "OK\n" {
			return fmt.Errorf("answered %q", line)
		}
	}
	return nil
}
func (l *lineSender) close() { l.c.Close() }

func dialLines(addr, prefix string, acks bool) func() (sender, error) {
	return func() (sender, error) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return nil, err
		}
		return &lineSender{c: c, r: bufio.NewReader(c), prefix: prefix, acks: acks}, nil
	}
}

// hostileSource is one listening source under attack: its configuration,
// its well-behaved client, and the hostile connections that apply to it.
type hostileSource struct {
	name   string
	conf   func(port int) string // the r1 lines
	client func(addr string) func() (sender, error)
	// noEnd starts a request or line that never ends (stalls); claim
	// starts one claiming 2 GiB; flood streams bytes without end. Each
	// writes to c and returns; nil when it does not apply.
	noEnd, claim, flood func(c net.Conn)
	// garbage: the source turns hostile bytes into events (syslog cuts a
	// line with no end at eventSize), so the far end has lines that are
	// not numbered events.
	garbage bool
}

func frameClaim(n uint32, avro bool) []byte {
	if avro {
		b := be.BigEndian.AppendUint32(nil, 1) // serial
		b = be.BigEndian.AppendUint32(b, 1)    // one buffer
		return be.BigEndian.AppendUint32(b, n)
	}
	return be.BigEndian.AppendUint32(nil, n)
}

func hostileSources() []hostileSource {
	stall := func(hdr []byte, body int) func(net.Conn) {
		return func(c net.Conn) {
			c.Write(hdr)
			c.Write(make([]byte, body))
		}
	}
	stream := func(b byte, n int) func(net.Conn) {
		return func(c net.Conn) {
			chunk := bytes.Repeat([]byte{b}, 64<<10)
			for sent := 0; sent < n; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}
	}
	httpReq := func(length string, body int) func(net.Conn) {
		return func(c net.Conn) {
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n", length)
			c.Write(bytes.Repeat([]byte(" "), body))
		}
	}
	src := func(typ, extra string) func(int) string {
		return func(port int) string {
			return fmt.Sprintf("a1.sources.r1.type = %s\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = %d\n%s", typ, port, extra)
		}
	}
	return []hostileSource{
		{name: "avro", conf: src("avro", "a1.sources.r1.read-timeout = 3\na1.sources.r1.max-bytes-in-flight = 67108864\n"),
			client: func(addr string) func() (sender, error) {
				return func() (sender, error) {
					c, err := avroipc.Dial(context.Background(), addr, avroipc.DialOptions{ConnectTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second})
					return avroSender{c}, err
				}
			},
			noEnd: stall(frameClaim(10<<20, true), 2<<20), claim: stall(frameClaim(1<<31-1, true), 64<<10)},
		{name: "thrift", conf: src("thrift", "a1.sources.r1.read-timeout = 3\na1.sources.r1.max-bytes-in-flight = 67108864\n"),
			client: func(addr string) func() (sender, error) {
				return func() (sender, error) {
					c, err := flumethrift.Dial(context.Background(), addr, flumethrift.DialOptions{ConnectTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second})
					return thriftSender{c}, err
				}
			},
			noEnd: stall(frameClaim(10<<20, false), 2<<20), claim: stall(frameClaim(1<<31-1, false), 64<<10)},
		{name: "http", conf: src("http", "a1.sources.r1.read-timeout = 3000\na1.sources.r1.max-bytes-in-flight = 67108864\n"),
			client: func(addr string) func() (sender, error) {
				return func() (sender, error) {
					// A new connection for every request: a new client
					// must get in while the idle ones hold the slots.
					return httpSender{url: "http://" + addr + "/", c: &http.Client{Timeout: 10 * time.Second,
						Transport: &http.Transport{DisableKeepAlives: true}}}, nil
				}
			},
			noEnd: httpReq("10485760", 2<<20), claim: httpReq("2147483648", 64<<10)},
		{name: "netcat", conf: src("netcat", "a1.sources.r1.max-bytes-in-flight = 67108864\n"),
			client: func(addr string) func() (sender, error) { return dialLines(addr, "", true) },
			noEnd:  stall(nil, 300), flood: stream('x', 64<<20)},
		{name: "syslogtcp", conf: func(port int) string {
			return fmt.Sprintf("a1.sources.r1.type = syslogtcp\na1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = %d\n", port)
		},
			client: func(addr string) func() (sender, error) { return dialLines(addr, "<13>Dec  7 23:00:00 host ", false) },
			noEnd:  stall(nil, 1000), claim: stall([]byte("2147483647 <13>"), 1000), flood: stream('x', 4<<20), garbage: true},
		{name: "multiport_syslogtcp", conf: func(port int) string {
			return fmt.Sprintf("a1.sources.r1.type = multiport_syslogtcp\na1.sources.r1.host = 127.0.0.1\na1.sources.r1.ports = %d\n", port)
		},
			client: func(addr string) func() (sender, error) { return dialLines(addr, "<13>Dec  7 23:00:00 host ", false) },
			noEnd:  stall(nil, 1000), claim: stall([]byte("2147483647 <13>"), 1000), flood: stream('x', 4<<20), garbage: true},
	}
}

// idleConns is how many connections each source is sent that never send
// a byte.
const idleConns = 10_000

// hostileRates: the well-behaved client's events per second and batch.
const (
	hostileRate  = 1000
	hostileBatch = 100
)

// TestHostileListeners: for each listening TCP source, one agent (source
// → memory channel → file_roll) while a well-behaved client streams
// numbered events: 10,000 connections that never send a byte, 20 that
// start a request or line and never finish it, 20 that claim a 2 GiB
// frame or body (where the protocol has lengths) or stream 64 MB without
// a newline (where it has none). The agent's RSS is sampled, the client
// must be served meanwhile, its events all arrive, and the agent's log
// must not say a line per hostile connection.
func TestHostileListeners(t *testing.T) {
	needBinary(t)
	raiseNoFile(t, 2*idleConns+1000)
	for _, hs := range hostileSources() {
		t.Run(hs.name, func(t *testing.T) { runHostile(t, hs) })
	}
}

// raiseNoFile raises this process's soft open-file limit (Go raises it to
// the hard limit at start already); the test needs idle connections and
// the agent's side of them are in another process.
func raiseNoFile(t *testing.T, want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Cur < want/2 {
		t.Fatalf("open-file limit %d: the scenario needs about %d (ulimit -n)", lim.Cur, want/2)
	}
}

// agentNoFile is the soft open-file limit the agent runs with.
func agentNoFile(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Max open files") {
			if f := strings.Fields(l); len(f) >= 4 {
				return f[3]
			}
		}
	}
	return "?"
}

// served is an agent (source r1 → memory channel → file_roll into out)
// whose well-behaved client is streaming numbered events and was served.
type served struct {
	ag        *agent
	addr, out string
	load      *seqLoad
	base      int // the agent's RSS in kB, once served
	logFrom   int // where the agent's output stood then
}

func startServed(t *testing.T, conf func(port int) string, client func(addr string) func() (sender, error)) *served {
	dir := t.TempDir()
	sv := &served{out: filepath.Join(dir, "out")}
	port := peers.FreePort(t)
	sv.addr = fmt.Sprintf("127.0.0.1:%d", port)
	sv.ag = newAgent(t, dir, "a1", `a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.channels = c1
`+conf(port)+`a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 1000
`+fileRoll("a1", sv.out))
	sv.ag.start()
	sv.load = startSeqLoad(client(sv.addr), hostileBatch, hostileRate)
	if !waitSeqAcked(sv.load, hostileBatch, 30*time.Second) {
		t.Fatalf("the client's first batch was not taken (%d failures)", sv.load.fails.Load())
	}
	var err error
	if sv.base, err = rssKB(sv.ag.pid()); err != nil {
		t.Fatal(err)
	}
	sv.logFrom = len(sv.ag.cur.Output())
	return sv
}

// watchRSS samples a process's RSS every 100 ms until the returned stop
// is called, which returns the peak in kB (at least from).
func watchRSS(pid, from int) (stop func() int) {
	var peak atomic.Int64
	peak.Store(int64(from))
	stopc, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kb, err := rssKB(pid); err == nil && int64(kb) > peak.Load() {
				peak.Store(int64(kb))
			}
			select {
			case <-stopc:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(stopc)
		<-sampled
		return int(peak.Load())
	}
}

func runHostile(t *testing.T, hs hostileSource) {
	sv := startServed(t, hs.conf, hs.client)
	ag, addr, out, load, base, logFrom := sv.ag, sv.addr, sv.out, sv.load, sv.base, sv.logFrom
	stopSampling := watchRSS(ag.pid(), base)

	started := time.Now()
	// 10,000 idle connections, opened 100 at a time, held open.
	var mu sync.Mutex
	var idle []net.Conn
	dialErrs := 0
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 100; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= idleConns {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				mu.Lock()
				if err != nil {
					dialErrs++
				} else {
					idle = append(idle, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	opened := time.Since(started)
	ackedIdle := int(load.acked.Load())
	time.Sleep(time.Second) // the agent's side of the last ones accepted
	idleKB, _ := rssKB(ag.pid())

	// Requests and lines that never end, and 2 GiB claims or floods, on
	// 20 connections each, while the idle ones stay open.
	var hostile []net.Conn
	var hw sync.WaitGroup
	for _, f := range []func(net.Conn){hs.noEnd, hs.claim, hs.flood} {
		if f == nil {
			continue
		}
		for i := 0; i < 20; i++ {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Errorf("hostile connection %d: %v", i, err)
				continue
			}
			_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			hostile = append(hostile, c)
			hw.Add(1)
			go func() { defer hw.Done(); f(c) }()
		}
	}
	hw.Wait()
	// The client must get further while all of it is held open.
	before := int(load.acked.Load())
	served := waitSeqAcked(load, before+5*hostileBatch, 60*time.Second)
	if !served {
		t.Errorf("%s: the well-behaved client got no further (acked %d) with %d idle and %d hostile connections open", hs.name, load.acked.Load(), len(idle), len(hostile))
	}
	time.Sleep(4 * time.Second) // past the read timeouts
	during := int(load.acked.Load())
	for _, c := range append(idle, hostile...) {
		c.Close()
	}
	attack := time.Since(started)
	peak := stopSampling()

	acked, failures := load.Stop()
	tl, back := waitArrived(t, out, acked, 2*time.Minute)
	logLines := countLines(ag.cur.Output()[logFrom:])
	noFile := agentNoFile(ag.pid())
	ag.stop()
	garbage := 0
	if hs.garbage {
		garbage, tl.torn = tl.torn, 0
	}
	t.Logf("%s: agent open-file limit %s; %d idle connections opened in %v (%d dials failed); RSS %.1f MB before, %.1f MB with the idle connections, peak %.1f MB; client acked %d once the idle connections were open, %d once the hostile ones were, %d when they closed; %d log lines",
		hs.name, noFile, len(idle), opened.Round(time.Millisecond), dialErrs, float64(base)/1024, float64(idleKB)/1024, float64(peak)/1024, ackedIdle, before, during, logLines)
	if dialErrs > idleConns/100 {
		t.Errorf("%s: %d of %d idle connections could not be opened", hs.name, dialErrs, idleConns)
	}
	// Room for the agent's side of the connections (a goroutine and a
	// socket each, and the kernel's) and the budgets in flight; without
	// the fixes the idle connections alone took ~640 MB of buffers.
	if bound := base + 256*1024; peak > bound {
		t.Errorf("%s: agent RSS peaked at %d kB, over %d kB", hs.name, peak, bound)
	}
	if logLines == 0 {
		t.Errorf("%s: the agent said nothing about %d hostile connections", hs.name, len(hostile))
	}
	if logLines > 200 {
		t.Errorf("%s: %d log lines for %d hostile connections: not rate-limited", hs.name, logLines, len(idle)+len(hostile))
	}
	notes := fmt.Sprintf("Agent open-file limit %s. RSS %.1f MB before, %.1f MB with the idle connections open, peak %.1f MB. %d agent log lines for the %d connections.",
		noFile, float64(base)/1024, float64(idleKB)/1024, float64(peak)/1024, logLines, len(idle)+len(hostile))
	if garbage > 0 {
		notes += fmt.Sprintf(" The hostile bytes became %d events of their own (syslog cuts a line at eventSize), not counted.", garbage)
	}
	check(t, result{
		Scenario: "hostile-" + hs.name,
		Sent:     acked,
		DupBound: hostileBatch, // a batch refused or cut mid-answer is resent
		Faults: fmt.Sprintf("%d idle connections (opened in %v), %d hostile ones; the client acked %d events while they were open, refused %d times",
			len(idle), opened.Round(100*time.Millisecond), len(hostile), during-ackedIdle, failures),
		Recovery: since(started.Add(attack), back),
		Notes:    notes,
	}, tl)
}

// waitSeqAcked waits until the load has n events acknowledged.
func waitSeqAcked(l *seqLoad, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for int(l.acked.Load()) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// countLines counts the log lines at INFO and above.
func countLines(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "level=") && !strings.Contains(l, "level=DEBUG") {
			n++
		}
	}
	return n
}

// stalledSource is a source that reads length-prefixed requests, for the
// stalled-requests scenarios.
type stalledSource struct {
	scenario   string
	unbudgeted string // the peak RSS measured once by hand with a 4 GiB budget
	conf       func(port int) string
	client     func(addr string) func() (sender, error)
	stall      func(c net.Conn, claim, send int) // starts a request claiming claim bytes, sends send of them
}

// TestStalledRequests: avro-stalled-frames for the thrift and http
// sources. While a client streams numbered events, ten connections start
// a 57 MB request, send 40 MB and stall. max-bytes-in-flight (64 MiB)
// bounds what the agent holds for them; the client is served, nothing is
// lost.
func TestStalledRequests(t *testing.T) {
	needBinary(t)
	write := func(c net.Conn, hdr []byte, send int) {
		_ = c.SetWriteDeadline(time.Now().Add(2 * time.Minute))
		if _, err := c.Write(hdr); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for sent := 0; sent < send; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	hs := hostileSources()
	for _, ss := range []stalledSource{
		{scenario: "thrift-stalled-frames", unbudgeted: "697 MB",
			conf: func(port int) string {
				return fmt.Sprintf("a1.sources.r1.type = thrift\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = %d\na1.sources.r1.read-timeout = 3\na1.sources.r1.max-frame-size = 67108864\na1.sources.r1.max-bytes-in-flight = %d\n", port, stalledBudget)
			},
			client: hs[1].client,
			stall:  func(c net.Conn, claim, send int) { write(c, frameClaim(uint32(claim), false), send) }},
		{scenario: "http-stalled-bodies", unbudgeted: "737 MB",
			conf: func(port int) string {
				return fmt.Sprintf("a1.sources.r1.type = http\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = %d\na1.sources.r1.read-timeout = 3000\na1.sources.r1.max-body-size = 67108864\na1.sources.r1.max-bytes-in-flight = %d\n", port, stalledBudget)
			},
			client: hs[2].client,
			stall: func(c net.Conn, claim, send int) {
				write(c, fmt.Appendf(nil, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", claim), send)
			}},
	} {
		t.Run(ss.scenario, func(t *testing.T) { runStalled(t, ss) })
	}
}

func runStalled(t *testing.T, ss stalledSource) {
	sv := startServed(t, ss.conf, ss.client)
	ag, addr, out, load, base, logFrom := sv.ag, sv.addr, sv.out, sv.load, sv.base, sv.logFrom
	started := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			ss.stall(c, 57_000_000, 40<<20)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			_, _ = c.Read(make([]byte, 1)) // until the agent answers or closes
		}()
	}
	stopSampling := watchRSS(ag.pid(), base)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("stalled connections still open after 3 minutes")
	}
	peak := stopSampling()
	stalled := time.Since(started)
	during := int(load.acked.Load())
	_, back := waitArrived(t, out, during, 2*time.Minute)
	time.Sleep(2 * time.Second)
	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 2*time.Minute)
	logLines := countLines(ag.cur.Output()[logFrom:])
	ag.stop()
	t.Logf("%s: agent RSS %.1f MB before, peak %.1f MB with 10 stalled 57 MB requests (max-bytes-in-flight %d MiB); %d log lines",
		ss.scenario, float64(base)/1024, float64(peak)/1024, stalledBudget>>20, logLines)
	if bound := base + 2*stalledBudget/1024 + 64*1024; peak > bound {
		t.Errorf("%s: agent RSS peaked at %d kB with stalled requests, over %d kB", ss.scenario, peak, bound)
	}
	if logLines == 0 || logLines > 40 {
		t.Errorf("%s: %d log lines for 10 stalled requests, want 1-40", ss.scenario, logLines)
	}
	check(t, result{
		Scenario: ss.scenario,
		Sent:     acked,
		DupBound: hostileBatch,
		Faults: fmt.Sprintf("10 connections stalled after 40 MB of a 57 MB request; all ended by the agent within %v; the client's batches refused %d times",
			stalled.Round(100*time.Millisecond), failures),
		Recovery: since(started.Add(stalled), back),
		Notes: fmt.Sprintf("Agent RSS %.1f MB before, peak %.1f MB (max-bytes-in-flight %d MiB); with no effective budget (4 GiB) the peak was %s (measured once by hand). %d agent log lines.",
			float64(base)/1024, float64(peak)/1024, stalledBudget>>20, ss.unbudgeted, logLines),
	}, tl)
}
