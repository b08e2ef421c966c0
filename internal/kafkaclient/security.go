package kafkaclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/sluiceio/sluice/conf"
	"os"
	"strings"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluiceio/sluice/internal/tlsconf"
)

// security reads security.protocol and what it needs (ssl.*, sasl.*) and
// returns the dial and SASL options.
func (p *props) security() []kgo.Opt {
	proto := p.oneOf("security.protocol", "PLAINTEXT", strings.ToUpper,
		"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
	useTLS := proto == "SSL" || proto == "SASL_SSL"
	useSASL := strings.HasPrefix(proto, "SASL_")

	var opts []kgo.Opt
	if useTLS {
		if cfg := p.tlsConfig(); cfg != nil {
			opts = append(opts, kgo.DialTLSConfig(cfg))
		}
	} else {
		for _, k := range sortedKeys(p.m) {
			if strings.HasPrefix(k, "ssl.") {
				p.used[k] = true
				p.warnf("%s is ignored: security.protocol is %s", p.name(k), proto)
			}
		}
	}
	if useSASL {
		if m := p.sasl(); m != nil {
			opts = append(opts, kgo.SASL(m))
		}
	} else {
		for _, k := range sortedKeys(p.m) {
			if strings.HasPrefix(k, "sasl.") {
				p.used[k] = true
				p.warnf("%s is ignored: security.protocol is %s", p.name(k), proto)
			}
		}
	}
	return opts
}

func (p *props) tlsConfig() *tls.Config {
	nerr := len(p.errs)
	// Flume fills the store settings not given from its global SSL
	// environment (FLUME_SSL_*), as its KafkaSSLUtil does.
	for key, env := range map[string]string{
		"ssl.truststore.location": "FLUME_SSL_TRUSTSTORE_PATH", "ssl.truststore.password": "FLUME_SSL_TRUSTSTORE_PASSWORD",
		"ssl.truststore.type": "FLUME_SSL_TRUSTSTORE_TYPE", "ssl.keystore.location": "FLUME_SSL_KEYSTORE_PATH",
		"ssl.keystore.password": "FLUME_SSL_KEYSTORE_PASSWORD", "ssl.keystore.type": "FLUME_SSL_KEYSTORE_TYPE",
	} {
		if _, set := p.m[key]; !set {
			if v, ok := os.LookupEnv(env); ok {
				p.m[key] = v
			}
		}
	}
	tsLoc, _ := p.get("ssl.truststore.location")
	tsPw, _ := p.get("ssl.truststore.password")
	tsType := p.storeType("ssl.truststore.type")
	ksLoc, _ := p.get("ssl.keystore.location")
	ksPw, _ := p.get("ssl.keystore.password")
	ksType := p.storeType("ssl.keystore.type")
	keyPw, keyPwSet := p.get("ssl.key.password")
	algo, algoSet := p.get("ssl.endpoint.identification.algorithm")
	if !algoSet {
		algo = "https" // the Java client's default
	}
	// Flume's own switch, since a Flume properties file cannot hold an
	// empty value for ssl.endpoint.identification.algorithm.
	if off, _ := p.bool("ssl.disableTLSHostnameVerification"); off {
		algo = ""
	}
	verifyHost := false
	switch strings.ToLower(algo) {
	case "https":
		verifyHost = true
	case "":
	default:
		p.bad("ssl.endpoint.identification.algorithm", algo, "is not https or empty")
	}
	p.ignore("Go's TLS stack chooses protocols and cipher suites",
		"ssl.protocol", "ssl.enabled.protocols", "ssl.cipher.suites", "ssl.provider",
		"ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.secure.random.implementation")
	if len(p.errs) > nerr {
		return nil
	}

	var roots *x509.CertPool
	if tsLoc != "" {
		pool, err := tlsconf.LoadTrustStore(tsLoc, tsPw, tsType)
		if err != nil {
			p.errs = append(p.errs, conf.Invalid(p.name("ssl.truststore.location"), "%v", err))
			return nil
		}
		roots = pool
	}
	var cfg *tls.Config
	if verifyHost {
		// kgo sets ServerName to the broker's host for each connection.
		cfg = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	} else {
		// Chain only, no host name: what Java does with an empty
		// ssl.endpoint.identification.algorithm.
		c, _, err := tlsconf.Client(tlsconf.Params{TrustStore: tsLoc, TrustStorePassword: tsPw, TrustStoreType: tsType})
		if err != nil {
			p.errs = append(p.errs, conf.Invalid(p.name("ssl.truststore.location"), "%v", err))
			return nil
		}
		cfg = c
	}
	if ksLoc != "" {
		if !keyPwSet {
			keyPw = ksPw
		}
		cert, err := tlsconf.LoadKeyStoreKeyPassword(ksLoc, ksPw, keyPw, ksType)
		if err != nil {
			p.errs = append(p.errs, conf.Invalid(p.name("ssl.keystore.location"), "%v", err))
			return nil
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

func (p *props) storeType(key string) string {
	v, ok := p.get(key)
	if !ok || v == "" {
		return "JKS"
	}
	if err := tlsconf.CheckType(v); err != nil {
		p.bad(key, v, "is not JKS, PKCS12 or PEM")
		return "JKS"
	}
	return strings.ToUpper(v)
}

// sasl builds the mechanism from sasl.mechanism and sasl.jaas.config. No
// message ever quotes the JAAS text: it holds the password.
func (p *props) sasl() sasl.Mechanism {
	mech := p.oneOf("sasl.mechanism", "GSSAPI", strings.ToUpper, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")
	p.ignore("Sluice reads the credentials from sasl.jaas.config only",
		"sasl.login.class", "sasl.login.callback.handler.class", "sasl.client.callback.handler.class")
	p.ignore("Kerberos is not supported", "sasl.kerberos.service.name")
	if mech == "GSSAPI" || mech == "OAUTHBEARER" {
		if _, set := p.m["sasl.mechanism"]; !set {
			p.errs = append(p.errs, conf.Invalid(p.name("sasl.mechanism"), "must be set with SASL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; the Java client's default GSSAPI is not supported)"))
		} else {
			p.errs = append(p.errs, conf.Invalid(p.name("sasl.mechanism"), "%q is not supported by Sluice (use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", mech))
		}
		return nil
	}
	jaas, ok := p.get("sasl.jaas.config")
	if !ok || jaas == "" {
		p.errs = append(p.errs, conf.Invalid(p.name("sasl.jaas.config"), "must be set for sasl.mechanism %s", mech))
		return nil
	}
	module, opts, err := parseJAAS(jaas)
	if err != nil {
		p.errs = append(p.errs, conf.Invalid(p.name("sasl.jaas.config"), "%v", err))
		return nil
	}
	user, pass := opts["username"], opts["password"]
	if user == "" {
		p.errs = append(p.errs, conf.Invalid(p.name("sasl.jaas.config"), "no username option"))
		return nil
	}
	wantModule := "PlainLoginModule"
	if strings.HasPrefix(mech, "SCRAM") {
		wantModule = "ScramLoginModule"
	}
	if !strings.HasSuffix(module, wantModule) {
		p.warnf("%s does not name a %s; Sluice uses its username and password for sasl.mechanism %s", p.name("sasl.jaas.config"), wantModule, mech)
	}
	switch mech {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
}

// parseJAAS reads one JAAS login module entry:
//
//	<class> <required|requisite|sufficient|optional> key="value" key2=value2 ;
//
// Errors describe positions and keys, never values.
func parseJAAS(s string) (module string, opts map[string]string, err error) {
	r := []rune(strings.TrimSpace(s))
	i := 0
	skip := func() {
		for i < len(r) && unicode.IsSpace(r[i]) {
			i++
		}
	}
	word := func() string {
		start := i
		for i < len(r) && !unicode.IsSpace(r[i]) && r[i] != '=' && r[i] != ';' && r[i] != '"' {
			i++
		}
		return string(r[start:i])
	}
	skip()
	module = word()
	if module == "" {
		return "", nil, errors.New("does not start with a login module class name")
	}
	skip()
	flag := word()
	switch strings.ToLower(flag) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", nil, errors.New("the login module class name is not followed by a control flag (required)")
	}
	opts = map[string]string{}
	for {
		skip()
		if i >= len(r) {
			return "", nil, errors.New("does not end with ';'")
		}
		if r[i] == ';' {
			i++
			skip()
			if i < len(r) {
				return "", nil, errors.New("holds more than one login module entry")
			}
			return module, opts, nil
		}
		key := word()
		if key == "" {
			return "", nil, fmt.Errorf("option %d has no name", len(opts)+1)
		}
		skip()
		if i >= len(r) || r[i] != '=' {
			return "", nil, fmt.Errorf("option %d has no '='", len(opts)+1)
		}
		i++
		skip()
		var val strings.Builder
		if i < len(r) && r[i] == '"' {
			i++
			closed := false
			for i < len(r) {
				c := r[i]
				i++
				if c == '\\' && i < len(r) {
					val.WriteRune(r[i])
					i++
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				val.WriteRune(c)
			}
			if !closed {
				return "", nil, fmt.Errorf("the value of option %d has no closing quote", len(opts)+1)
			}
		} else {
			val.WriteString(word())
		}
		opts[key] = val.String()
	}
}
