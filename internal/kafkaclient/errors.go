package kafkaclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// permanentErrs are the broker answers that mean a record will never be
// taken as it is: retrying it cannot help, so a sink rejects it (and the
// core dead-letters it when configured).
var permanentErrs = []error{
	kerr.MessageTooLarge,          // record above max.request.size or the topic's max.message.bytes
	kerr.RecordListTooLarge,       // batch above the broker's limit
	kerr.InvalidRecord,            // the broker's validation refused it (e.g. compacted topic without key)
	kerr.CorruptMessage,           // the record failed CRC validation; franz-go retries first
	kerr.UnknownTopicOrPartition,  // franz-go gives up after its unknown-topic retries: no such topic
	kerr.TopicAuthorizationFailed, // no ACL to write (or read) the topic
	kerr.InvalidTopicException,    // illegal topic name
	kerr.InvalidRequiredAcks,      // acks the broker does not accept
	kerr.PolicyViolation,          // a topic policy refused it
	kerr.InvalidTimestamp,         // timestamp outside message.timestamp.*.ms
	kerr.UnsupportedForMessageFormat,
}

// Retryable reports whether err (from a produce promise, a fetch or a
// request) may succeed when tried again: a broker away, a timeout, a leader
// moving. It is false for the permanent record errors listed above, and for
// nil. Errors not known to be permanent count as retryable, so a surprise
// never sets a record aside.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	return !Permanent(err)
}

// Permanent reports whether err is a broker's answer that retrying the same
// record cannot change.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	for _, p := range permanentErrs {
		if errors.Is(err, p) {
			return true
		}
	}
	return false
}

// TLSRefused reports whether err is a TLS alert the broker sent after the
// handshake: with ssl.client.auth = required, the broker's refusal of the
// client's certificate, or of its lack of one (TLS 1.3 lets the client
// finish its side of the handshake first, so the alert comes at the first
// read).
func TLSRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && strings.Contains(op.Err.Error(), "tls:") && strings.Contains(op.Err.Error(), "certificate")
}

// AuthFailed reports whether err is a failed authentication or a refused
// authorization for the client as a whole (not one topic): retrying will
// not help until the configuration changes, but no record is at fault.
func AuthFailed(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) ||
		errors.Is(err, kerr.UnsupportedSaslMechanism) || errors.Is(err, kerr.IllegalSaslState)
}

// DefaultPingTimeout bounds Ping when ctx has no deadline.
const DefaultPingTimeout = 15 * time.Second

// Ping asks one of the client's brokers for metadata and turns a failure
// into an error saying what went wrong: the bootstrap servers could not be
// reached, SASL authentication failed (naming the mechanism, never the
// credentials), or TLS failed. It never waits past ctx's deadline (or
// DefaultPingTimeout).
func Ping(ctx context.Context, cl *kgo.Client) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPingTimeout)
		defer cancel()
	}
	err := cl.Ping(ctx)
	if err == nil {
		return nil
	}
	return Explain(cl, err)
}

// Explain turns a connection-level error of cl into a message saying what
// failed, as Ping does.
func Explain(cl *kgo.Client, err error) error {
	seeds, _ := cl.OptValue(kgo.SeedBrokers).([]string)
	servers := strings.Join(seeds, ",")
	var mech string
	if ms, ok := cl.OptValue(kgo.SASL).([]sasl.Mechanism); ok && len(ms) > 0 {
		mech = ms[0].Name()
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordHeader tls.RecordHeaderError
	var firstEOF *kgo.ErrFirstReadEOF
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState):
		return fmt.Errorf("SASL authentication failed for mechanism %s at kafka.bootstrap.servers %q: %w", mech, servers, err)
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("the brokers at kafka.bootstrap.servers %q do not accept SASL mechanism %s: %w", servers, mech, err)
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return fmt.Errorf("TLS: the certificate of kafka.bootstrap.servers %q is not trusted (check ssl.truststore.location and ssl.endpoint.identification.algorithm): %w", servers, err)
	case TLSRefused(err):
		return fmt.Errorf("TLS: kafka.bootstrap.servers %q refused this client's certificate (the listener requires one its trust store accepts: check ssl.keystore.location): %w", servers, err)
	case errors.As(err, &recordHeader):
		return fmt.Errorf("TLS: kafka.bootstrap.servers %q did not answer with TLS (does security.protocol match the broker's listener?): %w", servers, err)
	case errors.As(err, &firstEOF):
		if mech != "" {
			return fmt.Errorf("kafka.bootstrap.servers %q closed the connection during SASL authentication for mechanism %s (wrong credentials, or a listener without SASL?): %w", servers, mech, err)
		}
		return fmt.Errorf("kafka.bootstrap.servers %q closed the connection at once (does security.protocol match the broker's listener?): %w", servers, err)
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("kafka.bootstrap.servers %q: not authorized: %w", servers, err)
	}
	return fmt.Errorf("cannot reach kafka.bootstrap.servers %q: %w", servers, err)
}
