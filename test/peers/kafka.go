package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// KafkaVersion is the Apache Kafka release test/peers/kafka/pom.xml pins.
const KafkaVersion = "4.1.1"

// KafkaReadyLog is the line a KRaft node logs once it serves (broker and
// controller both up).
const KafkaReadyLog = "Kafka Server started"

// KafkaOptions configure one single-node KRaft Kafka (broker + controller).
type KafkaOptions struct {
	Port int // the PLAINTEXT listener's port; a free one if 0

	// AutoCreateTopics sets auto.create.topics.enable. Off by default, so
	// that a test sees the error a missing topic gives; tests create their
	// topics (CreateTopic).
	AutoCreateTopics bool
	Partitions       int               // num.partitions; 1 if 0
	Props            map[string]string // more server.properties lines (override the defaults)

	Heap         string   // -Xmx; "512m" if empty
	JVMFlags     []string // extra JVM flags, e.g. FastStartFlags
	ReadyTimeout time.Duration
	StopGrace    time.Duration

	// Dir holds server.properties, the log dirs and the output. A new
	// temporary directory if empty (StartKafka: t.TempDir()).
	Dir string
}

// Kafka is a running single-node Kafka: a Proc plus its bootstrap address.
type Kafka struct {
	*Proc
	Addr       string // host:port of the PLAINTEXT listener: bootstrap.servers
	Controller string // host:port of the controller listener
}

// StartKafka formats a KRaft log dir and starts a broker for a test, waiting
// until it serves. It is stopped when the test ends. Tests share one broker
// per package (TestMain, StartKafkaProcess) and use their own topics.
func StartKafka(t testing.TB, opts KafkaOptions) *Kafka {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Port == 0 {
		opts.Port = FreePort(t)
	}
	spec, k, err := kafkaSpec(context.Background(), opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	k.Proc = StartJavaT(t, spec)
	return k
}

// StartKafkaProcess is StartKafka for TestMain and programs that are not
// tests (the benchmark command, peers.sh run). The caller must Stop it.
func StartKafkaProcess(ctx context.Context, opts KafkaOptions) (*Kafka, error) {
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "peer-kafka-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		opts.Dir = d
	}
	if opts.Port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	spec, k, err := kafkaSpec(ctx, opts)
	if err != nil {
		return nil, err
	}
	p, err := StartJava(ctx, spec)
	if err != nil {
		return nil, err
	}
	k.Proc = p
	return k, nil
}

// kafkaSpec writes server.properties, formats the log dir (once: a dir
// already formatted is kept, so Restart and a second start on the same Dir
// find their data) and returns the broker's JavaSpec.
func kafkaSpec(ctx context.Context, opts KafkaOptions) (JavaSpec, *Kafka, error) {
	ctrlPort, err := freePort()
	if err != nil {
		return JavaSpec{}, nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port))
	ctrl := net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrlPort))
	partitions := opts.Partitions
	if partitions <= 0 {
		partitions = 1
	}
	props := map[string]string{
		"process.roles":                    "broker,controller",
		"node.id":                          "1",
		"controller.quorum.voters":         "1@" + ctrl,
		"listeners":                        "PLAINTEXT://" + addr + ",CONTROLLER://" + ctrl,
		"advertised.listeners":             "PLAINTEXT://" + addr + ",CONTROLLER://" + ctrl,
		"inter.broker.listener.name":       "PLAINTEXT",
		"controller.listener.names":        "CONTROLLER",
		"listener.security.protocol.map":   "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"log.dirs":                         filepath.Join(opts.Dir, "data"),
		"num.partitions":                   strconv.Itoa(partitions),
		"offsets.topic.replication.factor": "1",
		// One partition instead of 50: 50 fewer log dirs to create at the
		// first group commit.
		"offsets.topic.num.partitions":                     "1",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
		"auto.create.topics.enable":                        strconv.FormatBool(opts.AutoCreateTopics),
		"group.min.session.timeout.ms":                     "1000",
	}
	for k, v := range opts.Props {
		props[k] = v
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	conf := filepath.Join(opts.Dir, "server.properties")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return JavaSpec{}, nil, fmt.Errorf("peers: %w", err)
	}
	// The controller port is chosen anew on each start; a formatted log dir
	// does not record it (the quorum is static), so --ignore-formatted keeps
	// the data of an earlier run in the same Dir.
	if err := kafkaFormat(ctx, conf); err != nil {
		return JavaSpec{}, nil, err
	}
	heap := opts.Heap
	if heap == "" {
		heap = "512m"
	}
	spec := JavaSpec{
		Peer:         "kafka",
		Main:         "kafka.Kafka",
		Args:         []string{conf},
		Heap:         heap,
		JVMFlags:     append([]string{"-Dkafka.logs.dir=" + filepath.Join(opts.Dir, "logs")}, opts.JVMFlags...),
		Dir:          opts.Dir,
		Ready:        Ready{Addr: addr, Log: KafkaReadyLog},
		ReadyTimeout: opts.ReadyTimeout,
		StopGrace:    opts.StopGrace,
	}
	return spec, &Kafka{Addr: addr, Controller: ctrl}, nil
}

// kafkaFormat runs `kafka-storage.sh format` (kafka.tools.StorageTool) with
// a fresh cluster id. The quorum is static (controller.quorum.voters), so
// no --standalone: 4.1 refuses it with voters set.
func kafkaFormat(ctx context.Context, conf string) error {
	ctx, cancel := context.WithTimeout(ctx, ClientTimeout)
	defer cancel()
	k := &Kafka{}
	out, err := k.tool(ctx, nil, "kafka.tools.StorageTool", "random-uuid")
	if err != nil {
		return err
	}
	_, err = k.tool(ctx, nil, "kafka.tools.StorageTool", "format", "-t", lastLine(out), "-c", conf, "--ignore-formatted")
	return err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// KafkaTool runs one of the distribution's own tools (a main class of the
// kafka peer's jars: org.apache.kafka.tools.TopicCommand,
// org.apache.kafka.tools.ConsoleProducer,
// org.apache.kafka.tools.consumer.ConsoleConsumer, ...) with stdin, and
// returns its exit code, stdout and stderr (where its log goes, WARN and
// up). err is only for a tool that could not be run or was cut off by ctx.
func KafkaTool(ctx context.Context, stdin []byte, main string, args ...string) (code int, stdout, stderr string, err error) {
	java, err := Java()
	if err != nil {
		return -1, "", "", err
	}
	lib, err := Lib("kafka")
	if err != nil {
		return -1, "", "", err
	}
	root, err := RepoRoot()
	if err != nil {
		return -1, "", "", err
	}
	l4j := filepath.Join(root, "test", "peers", "kafka", "tools-log4j2.properties")
	argv := append([]string{"-Xmx256m", "-Dlog4j2.configurationFile=" + l4j}, FastStartFlags...)
	argv = append(argv, "-cp", filepath.Join(lib, "*"), main)
	cmd := exec.CommandContext(ctx, java, append(argv, args...)...)
	var out, errb bytes.Buffer
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return -1, out.String(), errb.String(), fmt.Errorf("peers: kafka %s: %w\n%s", main, ctx.Err(), errb.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String(), nil
	case err != nil:
		return -1, out.String(), errb.String(), fmt.Errorf("peers: running kafka %s: %w", main, err)
	}
	return 0, out.String(), errb.String(), nil
}

func (k *Kafka) tool(ctx context.Context, stdin []byte, main string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ClientTimeout)
	defer cancel()
	code, out, errs, err := KafkaTool(ctx, stdin, main, args...)
	if err != nil {
		return out, err
	}
	if code != 0 {
		return out, fmt.Errorf("peers: kafka %s %s exited %d:\n%s%s", main, strings.Join(args, " "), code, out, errs)
	}
	return out, nil
}

// CreateTopic creates a topic with kafka-topics (TopicCommand), replication
// factor 1, and extra --config key=value settings.
func (k *Kafka) CreateTopic(ctx context.Context, topic string, partitions int, configs ...string) error {
	args := []string{"--bootstrap-server", k.Addr, "--create", "--topic", topic,
		"--partitions", strconv.Itoa(partitions), "--replication-factor", "1"}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	_, err := k.tool(ctx, nil, "org.apache.kafka.tools.TopicCommand", args...)
	return err
}

// ConsoleProduce writes one record per line with kafka-console-producer.
// With keySep set, each line is "key<keySep>value".
func (k *Kafka) ConsoleProduce(ctx context.Context, topic string, lines []string, keySep string) error {
	args := []string{"--bootstrap-server", k.Addr, "--topic", topic}
	if keySep != "" {
		args = append(args, "--property", "parse.key=true", "--property", "key.separator="+keySep)
	}
	in := strings.Join(lines, "\n") + "\n"
	_, err := k.tool(ctx, []byte(in), "org.apache.kafka.tools.ConsoleProducer", args...)
	return err
}

// ConsoleConsume reads n records from the beginning of topic with
// kafka-console-consumer and returns their values (one per line; values
// must not hold newlines). It fails when fewer than n arrive within timeout.
func (k *Kafka) ConsoleConsume(ctx context.Context, topic string, n int, timeout time.Duration) ([]string, error) {
	args := []string{"--bootstrap-server", k.Addr, "--topic", topic, "--from-beginning",
		"--max-messages", strconv.Itoa(n), "--timeout-ms", strconv.FormatInt(timeout.Milliseconds(), 10)}
	out, err := k.tool(ctx, nil, "org.apache.kafka.tools.consumer.ConsoleConsumer", args...)
	if err != nil {
		return nil, err
	}
	var vals []string
	for _, l := range strings.Split(out, "\n") {
		if l == "" {
			continue
		}
		vals = append(vals, l)
	}
	if len(vals) != n {
		return vals, fmt.Errorf("peers: kafka console consumer read %d records of %d from %s:\n%s", len(vals), n, topic, out)
	}
	return vals, nil
}

func init() {
	registerRunner("kafka", func(ctx context.Context, o RunOptions) (*Running, error) {
		k, err := StartKafkaProcess(ctx, KafkaOptions{Port: o.Port, Dir: o.Dir, AutoCreateTopics: true})
		if err != nil {
			return nil, err
		}
		return procRunning(k.Addr, k.Proc), nil
	})
}
