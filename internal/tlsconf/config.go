package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Params are Flume's SSL properties, as the avro and thrift sources (key
// store) and sinks (trust store) read them.
type Params struct {
	KeyStore, KeyStorePassword, KeyStoreType       string
	TrustAll                                       bool
	TrustStore, TrustStorePassword, TrustStoreType string
	IncludeProtocols, ExcludeProtocols             []string
	IncludeCipherSuites, ExcludeCipherSuites       []string
}

// FromEnv fills what is unset from Flume's global SSL environment variables
// (FLUME_SSL_KEYSTORE_PATH, FLUME_SSL_TRUSTSTORE_TYPE,
// FLUME_SSL_EXCLUDE_PROTOCOLS, ...), as Flume does when neither the property
// nor the javax.net.ssl / flume.ssl system property is set. List variables
// are comma-separated. defaultType is the store type property's default,
// which an environment type overrides.
func (p Params) FromEnv(defaultType string) Params {
	env := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	env(&p.KeyStore, "FLUME_SSL_KEYSTORE_PATH")
	env(&p.KeyStorePassword, "FLUME_SSL_KEYSTORE_PASSWORD")
	env(&p.TrustStore, "FLUME_SSL_TRUSTSTORE_PATH")
	env(&p.TrustStorePassword, "FLUME_SSL_TRUSTSTORE_PASSWORD")
	if t := os.Getenv("FLUME_SSL_KEYSTORE_TYPE"); t != "" && strings.EqualFold(p.KeyStoreType, defaultType) {
		p.KeyStoreType = t
	}
	if t := os.Getenv("FLUME_SSL_TRUSTSTORE_TYPE"); t != "" && strings.EqualFold(p.TrustStoreType, defaultType) {
		p.TrustStoreType = t
	}
	list := func(v *[]string, name string) {
		if len(*v) == 0 || (name == "FLUME_SSL_EXCLUDE_PROTOCOLS" && slices.Equal(*v, []string{"SSLv3"})) {
			if s := os.Getenv(name); s != "" {
				*v = append(*v, strings.Fields(strings.ReplaceAll(s, ",", " "))...)
			}
		}
	}
	list(&p.IncludeProtocols, "FLUME_SSL_INCLUDE_PROTOCOLS")
	list(&p.ExcludeProtocols, "FLUME_SSL_EXCLUDE_PROTOCOLS")
	list(&p.IncludeCipherSuites, "FLUME_SSL_INCLUDE_CIPHERSUITES")
	list(&p.ExcludeCipherSuites, "FLUME_SSL_EXCLUDE_CIPHERSUITES")
	return p
}

// Java's protocol names. Java 17 enables only TLSv1.3 and TLSv1.2 by
// default, and an include list can only narrow what is enabled, so the
// older names are accepted but never enable anything.
var protocolVersions = map[string]uint16{
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

var knownProtocols = []string{"SSLv2Hello", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

// CheckProtocols rejects names that are not Java TLS protocol names, which
// Flume would silently ignore.
func CheckProtocols(names []string) error {
	var bad []string
	for _, n := range names {
		if !slices.Contains(knownProtocols, n) {
			bad = append(bad, fmt.Sprintf("%q", n))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: not a protocol name (use %s)", strings.Join(bad, ", "), strings.Join(knownProtocols, ", "))
	}
	return nil
}

// tls13Suites are the TLS 1.3 suites Go always enables; Go cannot turn
// them off one by one.
var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

func allowed(name string, include, exclude []string) bool {
	return (len(include) == 0 || slices.Contains(include, name)) && !slices.Contains(exclude, name)
}

// versionsAndSuites applies the include/exclude lists the way Flume filters
// the SSL engine's enabled protocols and suites, within what Go can do, and
// explains in warnings what it cannot honour.
func versionsAndSuites(p Params, cfg *tls.Config) (warnings []string, err error) {
	if err := CheckProtocols(p.IncludeProtocols); err != nil {
		return nil, fmt.Errorf("include-protocols: %w", err)
	}
	if err := CheckProtocols(p.ExcludeProtocols); err != nil {
		return nil, fmt.Errorf("exclude-protocols: %w", err)
	}
	var versions []uint16
	for _, name := range []string{"TLSv1.2", "TLSv1.3"} {
		if allowed(name, p.IncludeProtocols, p.ExcludeProtocols) {
			versions = append(versions, protocolVersions[name])
		}
	}

	// TLS 1.2 suites: Go's secure defaults, narrowed by the lists.
	known := map[string]bool{}
	for _, s := range tls13Suites {
		known[s] = true
	}
	var suites []uint16
	for _, s := range tls.CipherSuites() {
		known[s.Name] = true
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) && allowed(s.Name, p.IncludeCipherSuites, p.ExcludeCipherSuites) {
			suites = append(suites, s.ID)
		}
	}
	var unknown []string
	for _, n := range append(append([]string(nil), p.IncludeCipherSuites...), p.ExcludeCipherSuites...) {
		if !known[n] && !slices.Contains(unknown, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		warnings = append(warnings, fmt.Sprintf("cipher suites not available in Go's TLS, ignored: %s", strings.Join(unknown, " ")))
	}
	if len(p.IncludeCipherSuites) > 0 || len(p.ExcludeCipherSuites) > 0 {
		cfg.CipherSuites = suites
	}
	if len(suites) == 0 {
		versions = slices.DeleteFunc(versions, func(v uint16) bool { return v == tls.VersionTLS12 })
	}
	// TLS 1.3: all three suites or none.
	n13 := 0
	for _, s := range tls13Suites {
		if allowed(s, p.IncludeCipherSuites, p.ExcludeCipherSuites) {
			n13++
		}
	}
	switch {
	case n13 == 0:
		versions = slices.DeleteFunc(versions, func(v uint16) bool { return v == tls.VersionTLS13 })
	case n13 < len(tls13Suites) && slices.Contains(versions, tls.VersionTLS13):
		warnings = append(warnings, "Go cannot disable single TLS 1.3 cipher suites; all of "+strings.Join(tls13Suites, " ")+" stay enabled")
	}
	if len(versions) == 0 {
		return warnings, errors.New("no TLS protocol version is left enabled by include-protocols, exclude-protocols and the cipher suite lists")
	}
	cfg.MinVersion, cfg.MaxVersion = slices.Min(versions), slices.Max(versions)
	return warnings, nil
}

// Server returns the TLS configuration of a server (avro or thrift
// source) from its key store and lists.
func Server(p Params) (*tls.Config, []string, error) {
	if p.KeyStore == "" {
		return nil, nil, errors.New("keystore is required when ssl is true")
	}
	cert, err := LoadKeyStore(p.KeyStore, p.KeyStorePassword, p.KeyStoreType)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	w, err := versionsAndSuites(p, cfg)
	if err != nil {
		return nil, w, err
	}
	return cfg, w, nil
}

// Client returns the TLS configuration of a client (avro or thrift sink).
//
// Flume's client checks the server's certificate chain against the trust
// store (or the JVM's default CAs when there is none) but does not check
// the host name, since its SSL engine is made without a peer host; this
// does the same. trust-all-certs accepts any certificate.
func Client(p Params) (*tls.Config, []string, error) {
	cfg := &tls.Config{}
	var roots *x509.CertPool
	if !p.TrustAll && p.TrustStore != "" {
		var err error
		if roots, err = LoadTrustStore(p.TrustStore, p.TrustStorePassword, p.TrustStoreType); err != nil {
			return nil, nil, err
		}
	}
	// Verification is done by VerifyPeerCertificate below: chain only.
	cfg.InsecureSkipVerify = true
	if !p.TrustAll {
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	}
	w, err := versionsAndSuites(p, cfg)
	if err != nil {
		return nil, w, err
	}
	return cfg, w, nil
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("server certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return fmt.Errorf("server certificate not trusted: %w", err)
	}
	return nil
}
