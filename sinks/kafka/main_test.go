package kafka

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/testca"
	"github.com/sluiceio/sluice/test/peers"

	_ "github.com/sluiceio/sluice/channels/memory"
	_ "github.com/sluiceio/sluice/channels/selector"
	_ "github.com/sluiceio/sluice/sources/taildir"
)

// broker is the package's Kafka (nil under -short). Each test writes to
// topics of its own.
var broker *peers.Kafka

// saslAddr is the broker's SASL_PLAINTEXT listener, where user alice
// logs in with PLAIN and alicePassword (and SCRAM-SHA-256 users, once
// added, with theirs).
var saslAddr string

const alicePassword = "alice-Pw-4711"

// sslAddr is the broker's SSL listener (client certificates required).
var sslAddr string

// mtlsAddr is a second SSL listener whose key and trust stores come from
// mtlsCA, a CA made at test time: clients must show a certificate it
// signed (ssl.client.auth = required).
var (
	mtlsAddr string
	mtlsCA   *testca.CA
	mtlsDir  string
)

// saslSSLAddr is a SASL_SSL listener: TLS with the mtlsCA's certificate
// (no client certificate asked), then SASL PLAIN for alice.
var saslSSLAddr string

const mtlsPassword = "mtls-Pw-0815"

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // unit tests only: no Java
	}
	ports, err := freePorts(6)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks/kafka:", err)
		os.Exit(1)
	}
	// Besides the PLAINTEXT listener, one with SASL PLAIN (user alice) for
	// the authentication tests.
	plain, ctrl, sasl, ssl := ports[0], ports[1], ports[2], ports[3]
	saslAddr = fmt.Sprintf("127.0.0.1:%d", sasl)
	sslAddr = fmt.Sprintf("localhost:%d", ssl)
	mtlsAddr = fmt.Sprintf("localhost:%d", ports[4])
	saslSSLAddr = fmt.Sprintf("localhost:%d", ports[5])
	if mtlsDir, err = os.MkdirTemp("", "sinks-kafka-mtls"); err != nil {
		fmt.Fprintln(os.Stderr, "sinks/kafka:", err)
		os.Exit(1)
	}
	mtlsCA = testca.New(nil, "sinks/kafka mTLS CA")
	mtlsKS := mtlsCA.Server(nil, "localhost").KeyStoreP12(nil, mtlsDir, "broker.p12", mtlsPassword)
	mtlsTS := mtlsCA.TrustStoreP12(nil, mtlsDir, "trust.p12", mtlsPassword)
	stores, err := filepath.Abs(filepath.Join("..", "..", "internal", "tlsconf", "testdata"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks/kafka:", err)
		os.Exit(1)
	}
	k, err := peers.StartKafkaProcess(context.Background(), peers.KafkaOptions{
		Heap: "512m", JVMFlags: peers.FastStartFlags, Port: plain,
		Props: map[string]string{
			"listeners":                      fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d,SASL_PLAINTEXT://%s,SSL://%s,MTLS://%s,SASL_SSL://%s", plain, ctrl, saslAddr, sslAddr, mtlsAddr, saslSSLAddr),
			"advertised.listeners":           fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d,SASL_PLAINTEXT://%s,SSL://%s,MTLS://%s,SASL_SSL://%s", plain, ctrl, saslAddr, sslAddr, mtlsAddr, saslSSLAddr),
			"controller.quorum.voters":       fmt.Sprintf("1@127.0.0.1:%d", ctrl),
			"listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL",
			// The MTLS listener: PKCS12 stores of the test-time CA.
			"listener.name.mtls.ssl.keystore.location":   mtlsKS,
			"listener.name.mtls.ssl.keystore.type":       "PKCS12",
			"listener.name.mtls.ssl.keystore.password":   mtlsPassword,
			"listener.name.mtls.ssl.key.password":        mtlsPassword,
			"listener.name.mtls.ssl.truststore.location": mtlsTS,
			"listener.name.mtls.ssl.truststore.type":     "PKCS12",
			"listener.name.mtls.ssl.truststore.password": mtlsPassword,
			"listener.name.mtls.ssl.client.auth":         "required",
			// The SASL_SSL listener: the same server certificate, no
			// client certificate, alice with PLAIN.
			"listener.name.sasl_ssl.ssl.keystore.location":   mtlsKS,
			"listener.name.sasl_ssl.ssl.keystore.type":       "PKCS12",
			"listener.name.sasl_ssl.ssl.keystore.password":   mtlsPassword,
			"listener.name.sasl_ssl.ssl.key.password":        mtlsPassword,
			"listener.name.sasl_ssl.ssl.client.auth":         "none",
			"listener.name.sasl_ssl.sasl.enabled.mechanisms": "PLAIN",
			"listener.name.sasl_ssl.plain.sasl.jaas.config":  `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="` + alicePassword + `";`,
			// The SSL listener: the test stores of internal/tlsconf (a
			// certificate for localhost and 127.0.0.1), clients must show
			// a certificate the broker trusts (the same one).
			"ssl.keystore.location":                               filepath.Join(stores, "server.jks"),
			"ssl.keystore.password":                               "changeit",
			"ssl.key.password":                                    "changeit",
			"ssl.truststore.location":                             filepath.Join(stores, "trust.jks"),
			"ssl.truststore.password":                             "changeit",
			"ssl.client.auth":                                     "required",
			"sasl.enabled.mechanisms":                             "PLAIN,SCRAM-SHA-256",
			"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="` + alicePassword + `";`,
			// SCRAM users live in the cluster metadata; TestSASLSCRAM adds
			// one with the distribution's kafka-configs.
			"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required;`,
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks/kafka: starting the broker:", err)
		os.Exit(1)
	}
	broker = k
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "sinks/kafka: broker log tail:\n%s\n", k.LogTail())
	}
	if err := k.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "sinks/kafka: stopping the broker:", err)
	}
	os.RemoveAll(mtlsDir)
	os.Exit(code)
}

func needBroker(t *testing.T) *peers.Kafka {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Kafka broker (Java); skipped under -short")
	}
	return broker
}

var topicSeq atomic.Int64

// newTopic creates a topic of its own for the test.
func newTopic(t *testing.T, partitions int, configs ...string) string {
	t.Helper()
	name := fmt.Sprintf("sink-%s-%d", strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")), topicSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), peers.ClientTimeout)
	defer cancel()
	if err := broker.CreateTopic(ctx, name, partitions, configs...); err != nil {
		t.Fatalf("create topic %s: %v\n%s", name, err, broker.LogTail())
	}
	return name
}

// logRecorder keeps every log line (message and attributes) for tests
// that count them.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrHandler{r, as}
}
func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// Lines returns the lines holding every one of subs.
func (r *logRecorder) Lines(subs ...string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
next:
	for _, l := range r.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func (r *logRecorder) All() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

type attrHandler struct {
	r  *logRecorder
	as []slog.Attr
}

func (h *attrHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *attrHandler) Handle(ctx context.Context, rec slog.Record) error {
	rec.AddAttrs(h.as...)
	return h.r.Handle(ctx, rec)
}
func (h *attrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrHandler{h.r, append(append([]slog.Attr{}, h.as...), as...)}
}
func (h *attrHandler) WithGroup(string) slog.Handler { return h }

// newSink decodes property lines into a started sink.
func newSink(t *testing.T, log *slog.Logger, lines ...string) (*Sink, sluice.Env) {
	t.Helper()
	cfg := mustDecode(t, lines...)
	env := sluicetest.Env("k1")
	if log != nil {
		env.Logger = log
	}
	s, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s, env
}

// drain runs the core's sink loop until the channel is empty, failing on
// the first error.
func drain(t *testing.T, env sluice.Env, s *Sink, ch *sluicetest.Channel) {
	t.Helper()
	env.Channel, env.ChannelName = ch, "c1"
	loop := sluicetest.SinkLoop(env, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for ch.Len() > 0 {
		if _, err := loop.Process(ctx); err != nil {
			t.Fatalf("process: %v", err)
		}
	}
}

// consume reads n records of topic from the start with franz-go.
func consume(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %d from %s", len(out), n, topic)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Logf("fetch %s/%d: %v", tp, p, err) })
		out = append(out, fs.Records()...)
	}
	// Nothing more than n: a short extra poll finds no duplicate.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	out = append(out, cl.PollFetches(ctx2).Records()...)
	return out
}

// appendLines appends lines to path.
func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}
