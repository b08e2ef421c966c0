package kafkaclient

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of the Java client that differ from franz-go's, applied so that
// a Flume configuration behaves the same.
const (
	// DefaultDeliveryTimeout is delivery.timeout.ms: a record not
	// acknowledged by then fails, so a sink's Deliver returns (and the core
	// backs off) instead of waiting forever for a broker that is away.
	DefaultDeliveryTimeout = 120 * time.Second
	// DefaultRequestTimeout is request.timeout.ms.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultMaxPollRecords is max.poll.records.
	DefaultMaxPollRecords = 500
)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// common reads what producers and consumers share and starts the options
// with the seed brokers.
func (p *props) common(c *Common) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Seeds()...)}
	if v, ok := p.get("client.id"); ok && v != "" {
		opts = append(opts, kgo.ClientID(v))
	}
	if _, ok := p.get("bootstrap.servers"); ok {
		p.warnf("%s is ignored: kafka.bootstrap.servers is used", p.name("bootstrap.servers"))
	}
	if d, ok := p.millis("metadata.max.age.ms", 1); ok {
		opts = append(opts, kgo.MetadataMaxAge(d))
	}
	p.ignore("franz-go backs off on its own schedule", "reconnect.backoff.ms", "reconnect.backoff.max.ms", "retry.backoff.ms", "retry.backoff.max.ms")
	p.ignore("franz-go keeps its own connection limits",
		"connections.max.idle.ms", "send.buffer.bytes", "receive.buffer.bytes", "socket.connection.setup.timeout.ms",
		"socket.connection.setup.timeout.max.ms", "client.dns.lookup", "metrics.sample.window.ms", "metrics.num.samples",
		"metrics.recording.level", "metric.reporters", "auto.include.jmx.reporter", "enable.metrics.push")
	opts = append(opts, p.security()...)
	return opts
}

func (p *props) finish(opts []kgo.Opt) ([]kgo.Opt, []string, error) {
	p.unknown()
	if len(p.errs) > 0 {
		return nil, p.warn, errors.Join(p.errs...)
	}
	return opts, p.warn, nil
}

// ProducerOpts maps the Java producer properties (kafka.producer.*, without
// the prefix) onto franz-go options. The warnings name properties that are
// accepted and ignored or unknown; errors name the property and quote its
// value unless it is a secret.
//
// Unlike Flume's producer defaults (acks=1 in Flume 1.11's sink), Sluice's
// is the Java client's own: acks=all with idempotence. acks other than all
// turn idempotence off unless enable.idempotence=true asks for it, which is
// then an error, as in the Java client.
func ProducerOpts(c *Common, producer map[string]string) ([]kgo.Opt, []string, error) {
	p := newProps("kafka.producer.", producer)
	opts := p.common(c)
	// The Java producer asks brokers to create a missing topic (they do
	// when auto.create.topics.enable is on); franz-go only when told.
	opts = append(opts, kgo.AllowAutoTopicCreation())

	acks := p.oneOf("acks", "all", strings.ToLower, "all", "-1", "1", "0")
	idem, idemSet := p.bool("enable.idempotence")
	idempotent := acks == "all" || acks == "-1"
	switch {
	case idemSet && idem && !idempotent:
		v, _ := p.get("acks")
		p.bad("acks", v, "must be all (or -1) with enable.idempotence=true")
	case idemSet && !idem:
		idempotent = false
	}
	switch acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
		if n, ok := p.int32("max.in.flight.requests.per.connection", 1, 1<<20); ok {
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(int(n)))
		}
	} else if _, ok := p.get("max.in.flight.requests.per.connection"); ok {
		p.warnf("%s is ignored: the idempotent producer keeps at most 5 requests in flight per broker, as Java's does", p.name("max.in.flight.requests.per.connection"))
	}

	if d, ok := p.millis("linger.ms", 0); ok {
		opts = append(opts, kgo.ProducerLinger(d))
	}
	if _, ok := p.int64("batch.size", 0, 1<<31-1); ok {
		p.warnf("%s is accepted and ignored: franz-go fills batches up to max.request.size", p.name("batch.size"))
	}
	switch p.oneOf("compression.type", "none", strings.ToLower, "none", "gzip", "snappy", "lz4", "zstd") {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	p.ignore("franz-go uses the codec's default level", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level")
	if n, ok := p.int32("max.request.size", 1, 1<<30); ok {
		// A record above it fails before it is sent, as in Java.
		opts = append(opts, kgo.ProducerBatchMaxBytes(n))
	} else {
		opts = append(opts, kgo.ProducerBatchMaxBytes(1048576))
	}
	if n, ok := p.int64("buffer.memory", 1, 1<<40); ok {
		opts = append(opts, kgo.MaxBufferedBytes(int(n)))
	}
	reqTimeout := DefaultRequestTimeout
	if d, ok := p.millis("request.timeout.ms", 1); ok {
		reqTimeout = d
	}
	opts = append(opts, kgo.ProduceRequestTimeout(reqTimeout))
	if n, ok := p.int64("retries", 0, 1<<31-1); ok {
		opts = append(opts, kgo.RecordRetries(int(n)))
	}
	delivery := DefaultDeliveryTimeout
	if d, ok := p.millis("delivery.timeout.ms", 1); ok {
		delivery = d
	}
	opts = append(opts, kgo.RecordDeliveryTimeout(delivery))
	p.ignore("Sluice sets them", "key.serializer", "value.serializer")
	p.ignore("Sluice partitions like the Java client's default (murmur2 of the key, sticky without one)", "partitioner.class", "partitioner.ignore.keys", "partitioner.adaptive.partitioning.enable", "partitioner.availability.timeout.ms")
	p.ignore("franz-go does not block producing on metadata", "max.block.ms")
	p.ignore("Sluice does not run interceptors in the Kafka client", "interceptor.classes")
	if v, ok := p.get("transactional.id"); ok && v != "" {
		p.bad("transactional.id", v, "is not supported: Sluice's producer is idempotent, not transactional")
	}
	return p.finish(opts)
}

// ConsumerOpts maps the Java consumer properties (kafka.consumer.*,
// without the prefix) onto franz-go options. Auto-commit is always off:
// Flume's source and channel commit offsets themselves, after the channel
// transaction. group.id, when set, becomes the consumer group; a component
// with its own group property appends kgo.ConsumerGroup after these.
// max.poll.records has no kgo.Opt: read it with MaxPollRecords.
//
// A component with its own group property (Flume's kafka.consumer.group.id
// default "flume") appends GroupOpts(group) after these, never
// kgo.ConsumerGroup alone: franz-go commits automatically unless told not to.
func ConsumerOpts(c *Common, consumer map[string]string) ([]kgo.Opt, []string, error) {
	p := newProps("kafka.consumer.", consumer)
	opts := p.common(c)
	if v, ok := p.bool("enable.auto.commit"); ok && v {
		p.warnf("%s=true is ignored: offsets are committed after the channel transaction, as in Flume", p.name("enable.auto.commit"))
	}
	p.ignore("auto-commit is always off", "auto.commit.interval.ms")
	if v, ok := p.get("group.id"); ok && v != "" {
		opts = append(opts, GroupOpts(v)...)
	}
	p.int32("max.poll.records", 1, 1<<30) // checked here, read by MaxPollRecords
	if n, ok := p.int32("fetch.max.bytes", 1, 1<<30); ok {
		opts = append(opts, kgo.FetchMaxBytes(n))
	}
	if n, ok := p.int32("fetch.min.bytes", 1, 1<<30); ok {
		opts = append(opts, kgo.FetchMinBytes(n))
	}
	if d, ok := p.millis("fetch.max.wait.ms", 1); ok {
		opts = append(opts, kgo.FetchMaxWait(d))
	}
	if n, ok := p.int32("max.partition.fetch.bytes", 1, 1<<30); ok {
		opts = append(opts, kgo.FetchMaxPartitionBytes(n))
	}
	if d, ok := p.millis("session.timeout.ms", 1); ok {
		opts = append(opts, kgo.SessionTimeout(d))
	}
	if d, ok := p.millis("heartbeat.interval.ms", 1); ok {
		opts = append(opts, kgo.HeartbeatInterval(d))
	}
	if d, ok := p.millis("max.poll.interval.ms", 1); ok {
		opts = append(opts, kgo.RebalanceTimeout(d))
	}
	switch p.oneOf("auto.offset.reset", "latest", strings.ToLower, "earliest", "latest", "none") {
	case "earliest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	case "none":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NoResetOffset()))
	default:
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	}
	if p.oneOf("isolation.level", "read_uncommitted", strings.ToLower, "read_uncommitted", "read_committed") == "read_committed" {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if v, ok := p.get("group.instance.id"); ok && v != "" {
		opts = append(opts, kgo.InstanceID(v))
	}
	if v, ok := p.get("client.rack"); ok && v != "" {
		opts = append(opts, kgo.Rack(v))
	}
	if v, ok := p.get("partition.assignment.strategy"); ok {
		if b := balancers(v); b != nil {
			opts = append(opts, kgo.Balancers(b...))
		} else {
			p.bad("partition.assignment.strategy", v, "names no assignor Sluice knows (RangeAssignor, RoundRobinAssignor, StickyAssignor, CooperativeStickyAssignor)")
		}
	}
	p.ignore("franz-go bounds each fetch by fetch.max.wait.ms", "request.timeout.ms")
	p.ignore("Sluice sets them", "key.deserializer", "value.deserializer")
	p.ignore("Sluice does not run interceptors in the Kafka client", "interceptor.classes")
	p.ignore("franz-go checks CRCs always", "check.crcs")
	p.ignore("franz-go does not use it", "exclude.internal.topics", "allow.auto.create.topics", "default.api.timeout.ms")
	return p.finish(opts)
}

// GroupOpts joins the consumer group with auto-commit off. (franz-go
// refuses DisableAutoCommit without a group, so it comes with the group.)
func GroupOpts(group string) []kgo.Opt {
	return []kgo.Opt{kgo.ConsumerGroup(group), kgo.DisableAutoCommit()}
}

func balancers(v string) []kgo.GroupBalancer {
	var out []kgo.GroupBalancer
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		switch s[strings.LastIndexByte(s, '.')+1:] {
		case "RangeAssignor":
			out = append(out, kgo.RangeBalancer())
		case "RoundRobinAssignor":
			out = append(out, kgo.RoundRobinBalancer())
		case "StickyAssignor":
			out = append(out, kgo.StickyBalancer())
		case "CooperativeStickyAssignor":
			out = append(out, kgo.CooperativeStickyBalancer())
		default:
			return nil
		}
	}
	return out
}

// MaxPollRecords returns max.poll.records from the consumer properties
// (DefaultMaxPollRecords when unset or invalid; ConsumerOpts reports an
// invalid value), for kgo.Client.PollRecords.
func MaxPollRecords(consumer map[string]string) int {
	p := newProps("kafka.consumer.", consumer)
	if n, ok := p.int32("max.poll.records", 1, 1<<30); ok {
		return int(n)
	}
	return DefaultMaxPollRecords
}
