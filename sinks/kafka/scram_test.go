package kafka

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/agenttest"
	"github.com/sluiceio/sluice/test/peers"
)

const bobPassword = "bob-Scram-Pw-2718"

// TestSASLSCRAM adds a SCRAM-SHA-256 user with the distribution's own
// kafka-configs (so the stored credential is salted by Kafka, not by the
// client library under test), then writes through the SASL_PLAINTEXT
// listener as that user: with the right password every event arrives;
// with a wrong one the batch stays in the channel, the error says SASL
// authentication failed for SCRAM-SHA-256, and neither it nor the log
// shows either password.
func TestSASLSCRAM(t *testing.T) {
	needBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code, out, errOut, err := peers.KafkaTool(ctx, nil, "kafka.admin.ConfigCommand",
		"--bootstrap-server", broker.Addr, "--alter", "--entity-type", "users", "--entity-name", "bob",
		"--add-config", "SCRAM-SHA-256=[iterations=4096,password="+bobPassword+"]")
	if err != nil || code != 0 {
		t.Fatalf("kafka-configs: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}

	topic := newTopic(t, 1)
	jaas := func(pw string) string {
		return `kafka.producer.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="` + pw + `";`
	}
	common := []string{"kafka.bootstrap.servers = " + saslAddr, "kafka.topic = " + topic,
		"kafka.producer.security.protocol = SASL_PLAINTEXT", "kafka.producer.sasl.mechanism = SCRAM-SHA-256",
		"kafka.producer.delivery.timeout.ms = 5000"}

	// The credential reaches the broker through the metadata log; until
	// then a login fails, so the first good batch may need a retry.
	s, env := newSink(t, nil, append(common, jaas(bobPassword))...)
	ch := sluicetest.NewChannel(&sluice.Event{Body: []byte("via scram 1")}, &sluice.Event{Body: []byte("via scram 2")})
	env.Channel, env.ChannelName = ch, "c1"
	loop := sluicetest.SinkLoop(env, s)
	var lastErr error
	agenttest.WaitUntil(t, "a SCRAM login as bob", time.Minute, func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
		defer pcancel()
		_, lastErr = loop.Process(pctx)
		return lastErr == nil && ch.Len() == 0
	})
	if recs := consume(t, topic, 2); len(recs) != 2 || string(recs[0].Value) != "via scram 1" || string(recs[1].Value) != "via scram 2" {
		t.Errorf("read %d records", len(recs))
	}
	if ch.Len() != 0 {
		t.Errorf("%d events left in the channel", ch.Len())
	}

	const wrong = "not-Bobs-Pw-1414"
	rec := &logRecorder{}
	s2, env2 := newSink(t, slog.New(rec), append(common, jaas(wrong))...)
	ch2 := sluicetest.NewChannel(&sluice.Event{Body: []byte("never")})
	env2.Channel, env2.ChannelName = ch2, "c1"
	_, err = sluicetest.SinkLoop(env2, s2).Process(ctx)
	if err == nil || !strings.Contains(err.Error(), "SASL authentication failed for mechanism SCRAM-SHA-256") {
		t.Fatalf("got %v", err)
	}
	for _, pw := range []string{wrong, bobPassword} {
		if strings.Contains(err.Error(), pw) {
			t.Errorf("a password is in the error: %v", err)
		}
	}
	if ch2.Len() != 1 {
		t.Errorf("the event is gone from the channel")
	}
	agenttest.WaitUntil(t, "the start check's warning", 30*time.Second, func() bool {
		return len(rec.Lines("SASL authentication failed for mechanism SCRAM-SHA-256")) > 0
	})
	if all := rec.All(); strings.Contains(all, wrong) || strings.Contains(all, bobPassword) {
		t.Errorf("a password is in the log:\n%s", all)
	}
	t.Logf("error: %v", err)
}
