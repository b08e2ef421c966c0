package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/testca"

	_ "github.com/sluiceio/sluice/channels/kafka"
	_ "github.com/sluiceio/sluice/sources/kafka"
)

// mtlsClient is the security settings (under prefix, e.g.
// "kafka.producer.") of a client of the MTLS listener: it trusts the CA
// trust and shows the key store ks (none when ks is "").
func mtlsClient(t *testing.T, prefix, ks string, trust *testca.CA) map[string]string {
	m := map[string]string{
		"kafka.bootstrap.servers":          mtlsAddr,
		prefix + "security.protocol":       "SSL",
		prefix + "ssl.truststore.location": trust.TrustStoreP12(t, t.TempDir(), "trust.p12", mtlsPassword),
		prefix + "ssl.truststore.type":     "PKCS12",
		prefix + "ssl.truststore.password": mtlsPassword,
	}
	if ks != "" {
		m[prefix+"ssl.keystore.location"] = ks
		m[prefix+"ssl.keystore.type"] = "PKCS12"
		m[prefix+"ssl.keystore.password"] = "client-pw"
	}
	return m
}

func decodeProps(t *testing.T, kind sluice.Kind, typ, name string, props map[string]string) (*sluice.Spec, any) {
	t.Helper()
	spec, ok := sluice.Lookup(kind, typ)
	if !ok {
		t.Fatalf("%s not registered", typ)
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1." + name + "." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			t.Fatalf("%s: %v", typ, e)
		}
	}
	return spec, cfg
}

// produce writes one record to topic through the plain listener.
func produce(t *testing.T, topic, value string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// refusedByBroker is how a client learns that the broker refused its
// certificate (or its lack of one): the error names the key store.
const refusedByBroker = "refused this client's certificate"

// Kafka's SSL listeners may require client certificates
// (ssl.client.auth = required); Flume's Kafka components then show the
// key store named by ssl.keystore.*. Against such a listener whose trust
// store holds a CA made at test time, the sink, the source and the channel
// each deliver with a certificate that CA signed, and are refused, with an
// error naming the key store and nothing delivered, without a certificate
// or with one signed by another CA; and each refuses a broker whose
// certificate its trust store does not accept.
func TestMutualTLS(t *testing.T) {
	needBroker(t)
	dir := t.TempDir()
	good := mtlsCA.Client(t, "sluice-client").KeyStoreP12(t, dir, "good.p12", "client-pw")
	otherCA := testca.New(t, "another CA")
	other := otherCA.Client(t, "sluice-client").KeyStoreP12(t, dir, "other.p12", "client-pw")
	const untrusted = "is not trusted"
	cases := []struct {
		name, ks string
		trust    *testca.CA
		want     string // "" delivers; else what the error or log says
	}{
		{"signed by the CA", good, mtlsCA, ""},
		{"no certificate", "", mtlsCA, refusedByBroker},
		{"signed by another CA", other, mtlsCA, refusedByBroker},
		{"broker not trusted", good, otherCA, untrusted},
	}

	t.Run("sink", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				topic := newTopic(t, 1)
				props := mtlsClient(t, "kafka.producer.", c.ks, c.trust)
				props["kafka.topic"] = topic
				props["kafka.producer.delivery.timeout.ms"] = "5000"
				var lines []string
				for k, v := range props {
					lines = append(lines, k+" = "+v)
				}
				s, env := newSink(t, nil, lines...)
				ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("mtls " + c.name)})
				env.Channel, env.ChannelName = ch, "c1"
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				_, err := sluicetest.SinkLoop(env, s).Process(ctx)
				if c.want == "" {
					if err != nil {
						t.Fatal(err)
					}
					if recs := consume(t, topic, 1); string(recs[0].Value) != "mtls "+c.name {
						t.Errorf("read %q", recs[0].Value)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want %q", err, c.want)
				}
				if ch.Len() != 1 {
					t.Error("the event left the channel")
				}
			})
		}
	})

	t.Run("source", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				topic := newTopic(t, 1)
				produce(t, topic, "for the source")
				props := mtlsClient(t, "kafka.consumer.", c.ks, c.trust)
				props["kafka.topics"] = topic
				props["kafka.consumer.group.id"] = "mtls-" + fmt.Sprint(time.Now().UnixNano())
				props["kafka.consumer.auto.offset.reset"] = "earliest"
				props["batchDurationMillis"] = "100"
				spec, cfg := decodeProps(t, sluice.KindSource, "org.apache.flume.source.kafka.KafkaSource", "sources.r1", props)
				logs := &sluicetest.LogBuf{}
				proc := sluicetest.NewProcessor()
				env := sluicetest.SourceEnv("r1", proc)
				env.Logger = logs.Logger()
				v, err := spec.New(env, cfg)
				if err != nil {
					t.Fatal(err)
				}
				src := v.(sluice.Source)
				if err := src.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					_ = src.Stop(ctx)
				}()
				if c.want == "" {
					if evs, err := proc.WaitFor(1, 90*time.Second); err != nil || string(evs[0].Body) != "for the source" {
						t.Fatalf("events %v: %v\n%s", evs, err, logs.String())
					}
					return
				}
				logs.Wait(t, 90*time.Second, c.want)
				if n := len(logs.Lines("cannot connect to a Kafka broker")); n != 1 {
					t.Errorf("the failure was logged %d times, want once (the client retrying is not news):\n%s", n, logs.String())
				}
				if n := len(proc.Events()); n != 0 {
					t.Errorf("%d events read without an accepted certificate", n)
				}
			})
		}
	})

	t.Run("channel", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				topic := newTopic(t, 1)
				props := mtlsClient(t, "kafka.producer.", c.ks, c.trust)
				for k, v := range mtlsClient(t, "kafka.consumer.", c.ks, c.trust) {
					props[k] = v
				}
				props["kafka.topic"] = topic
				props["kafka.consumer.group.id"] = "mtls-ch"
				props["kafka.producer.delivery.timeout.ms"] = "5000"
				spec, cfg := decodeProps(t, sluice.KindChannel, "org.apache.flume.channel.kafka.KafkaChannel", "channels.c1", props)
				logs := &sluicetest.LogBuf{}
				env := sluice.Env{Name: "c1", Logger: logs.Logger(), ChannelCounters: sluice.NewChannelCounters()}
				v, err := spec.New(env, cfg)
				if err != nil {
					t.Fatal(err)
				}
				ch := v.(sluice.Channel)
				if err := ch.Start(context.Background()); err != nil && c.want == "" {
					t.Fatal(err)
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					_ = ch.Stop(ctx)
				}()
				tx := ch.Begin()
				err = tx.Put([]*sluice.Event{{Body: []byte("through the channel")}})
				if err == nil {
					err = tx.Commit()
				} else {
					_ = tx.Rollback()
				}
				if c.want != "" {
					if err == nil {
						t.Fatal("a put was committed without an accepted certificate")
					}
					// The put's error names the topic; the log says why.
					logs.Wait(t, 90*time.Second, c.want)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(90 * time.Second)
				tx = ch.Begin()
				for {
					evs, err := tx.Take(1)
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) == 1 {
						if string(evs[0].Body) != "through the channel" {
							t.Errorf("took %q", evs[0].Body)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("nothing taken within 90 s")
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(errors.Join(err, errors.New(logs.String())))
				}
			})
		}
	})
}

// SASL_SSL, the usual production setting: TLS verified against a trust
// store of the test CA, then SASL PLAIN. alice's password delivers; a
// wrong one is refused as a SASL failure (not a TLS one), never shown.
func TestSASLSSL(t *testing.T) {
	needBroker(t)
	const wrong = "Wrong-Pw-2207"
	for _, pw := range []string{alicePassword, wrong} {
		topic := newTopic(t, 1)
		s, env := newSink(t, nil,
			"kafka.bootstrap.servers = "+saslSSLAddr, "kafka.topic = "+topic,
			"kafka.producer.security.protocol = SASL_SSL", "kafka.producer.sasl.mechanism = PLAIN",
			`kafka.producer.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="`+pw+`";`,
			"kafka.producer.ssl.truststore.location = "+mtlsCA.TrustStoreP12(t, t.TempDir(), "trust.p12", mtlsPassword),
			"kafka.producer.ssl.truststore.type = PKCS12", "kafka.producer.ssl.truststore.password = "+mtlsPassword,
			"kafka.producer.delivery.timeout.ms = 5000")
		ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("sasl over tls")})
		env.Channel, env.ChannelName = ch, "c1"
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := sluicetest.SinkLoop(env, s).Process(ctx)
		cancel()
		if pw == alicePassword {
			if err != nil {
				t.Fatal(err)
			}
			if recs := consume(t, topic, 1); string(recs[0].Value) != "sasl over tls" {
				t.Errorf("read %q", recs[0].Value)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "SASL authentication failed for mechanism PLAIN") || strings.Contains(err.Error(), wrong) {
			t.Fatalf("wrong password: %v", err)
		}
		if ch.Len() != 1 {
			t.Error("the event left the channel")
		}
	}
}
