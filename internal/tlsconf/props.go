package tlsconf

import (
	"crypto/tls"
	"errors"
	"log/slog"

	"github.com/sluiceio/sluice/conf"
)

// The structs below are Flume's SSL properties as a component's config
// embeds them, so every component that serves or connects with TLS spells,
// documents, defaults and checks them alike.

// ListProps are the protocol and cipher suite lists, read by servers and
// clients alike.
type ListProps struct {
	ExcludeProtocols    []string `flume:"exclude-protocols" doc:"space-separated TLS protocols to disable; SSLv3 is always excluded"`
	IncludeProtocols    []string `flume:"include-protocols" doc:"space-separated TLS protocols to allow (empty: all enabled ones)"`
	ExcludeCipherSuites []string `flume:"exclude-cipher-suites" doc:"space-separated cipher suites to disable"`
	IncludeCipherSuites []string `flume:"include-cipher-suites" doc:"space-separated cipher suites to allow (empty: all enabled ones)"`
}

func (l *ListProps) problems() []error {
	var errs []error
	if err := CheckProtocols(l.ExcludeProtocols); err != nil {
		errs = append(errs, conf.Invalid("exclude-protocols", "%v", err))
	}
	if err := CheckProtocols(l.IncludeProtocols); err != nil {
		errs = append(errs, conf.Invalid("include-protocols", "%v", err))
	}
	return errs
}

// params fills p's lists, applies the FLUME_SSL_* environment, and always
// excludes SSLv3, whatever the list says, as Flume does.
func (l *ListProps) params(p Params) Params {
	p.IncludeProtocols, p.ExcludeProtocols = l.IncludeProtocols, l.ExcludeProtocols
	p.IncludeCipherSuites, p.ExcludeCipherSuites = l.IncludeCipherSuites, l.ExcludeCipherSuites
	p = p.FromEnv("JKS")
	p.ExcludeProtocols = append(p.ExcludeProtocols, "SSLv3")
	return p
}

// ServerProps are the SSL properties of a server (the avro source): its
// key store and the lists.
type ServerProps struct {
	SSL              bool   `flume:"ssl" doc:"serve TLS"`
	Keystore         string `flume:"keystore" doc:"key store with the server's key and certificate (default: $FLUME_SSL_KEYSTORE_PATH)"`
	KeystorePassword string `flume:"keystore-password" doc:"password of the key store and of its key (default: $FLUME_SSL_KEYSTORE_PASSWORD)"`
	KeystoreType     string `flume:"keystore-type" doc:"JKS, PKCS12 or PEM (a Sluice extension: certificate chain and unencrypted key in one file)"`
	ListProps
}

// DefaultServerProps has Flume's defaults.
func DefaultServerProps() ServerProps {
	return ServerProps{KeystoreType: "JKS", ListProps: ListProps{ExcludeProtocols: []string{"SSLv3"}}}
}

// Validate checks, when ssl is on, that a key store is named and of a type
// Sluice reads, and always that the protocol names are Java's.
func (c *ServerProps) Validate() error {
	var errs []error
	if c.SSL {
		p := c.Params()
		if p.KeyStore == "" {
			errs = append(errs, conf.Invalid("keystore", "a keystore is required when ssl is true (or set FLUME_SSL_KEYSTORE_PATH)"))
		}
		if err := CheckType(p.KeyStoreType); err != nil {
			errs = append(errs, conf.Invalid("keystore-type", "%v", err))
		}
	}
	return errors.Join(append(errs, c.problems()...)...)
}

// Params are the properties with the FLUME_SSL_* fallbacks applied, for
// Server.
func (c *ServerProps) Params() Params {
	return c.params(Params{KeyStore: c.Keystore, KeyStorePassword: c.KeystorePassword, KeyStoreType: c.KeystoreType})
}

// ClientProps are the SSL properties of a client (the avro sink): its trust
// store and the lists.
type ClientProps struct {
	SSL                bool   `flume:"ssl" doc:"connect with TLS"`
	TrustAllCerts      bool   `flume:"trust-all-certs" doc:"accept any server certificate (no verification at all)"`
	Truststore         string `flume:"truststore" doc:"trust store of the certificates to trust (default: $FLUME_SSL_TRUSTSTORE_PATH, else the system's CAs)"`
	TruststorePassword string `flume:"truststore-password" doc:"password of the trust store (default: $FLUME_SSL_TRUSTSTORE_PASSWORD)"`
	TruststoreType     string `flume:"truststore-type" doc:"JKS, PKCS12 or PEM (a Sluice extension: a file of certificates)"`
	ListProps
}

// DefaultClientProps has Flume's defaults.
func DefaultClientProps() ClientProps {
	return ClientProps{TruststoreType: "JKS", ListProps: ListProps{ExcludeProtocols: []string{"SSLv3"}}}
}

// Validate checks, when ssl is on and certificates are verified, that the
// trust store is of a type Sluice reads, and always that the protocol names
// are Java's.
func (c *ClientProps) Validate() error {
	var errs []error
	if c.SSL && !c.TrustAllCerts {
		if err := CheckType(c.Params().TrustStoreType); err != nil {
			errs = append(errs, conf.Invalid("truststore-type", "%v", err))
		}
	}
	return errors.Join(append(errs, c.problems()...)...)
}

// Params are the properties with the FLUME_SSL_* fallbacks applied, for
// Client.
func (c *ClientProps) Params() Params {
	return c.params(Params{TrustAll: c.TrustAllCerts, TrustStore: c.Truststore,
		TrustStorePassword: c.TruststorePassword, TrustStoreType: c.TruststoreType})
}

// Load builds the server's TLS configuration (nil when ssl is off), logging
// each warning as "<what>: <warning>" on log.
func (c *ServerProps) Load(log *slog.Logger, what string) (*tls.Config, error) {
	if !c.SSL {
		return nil, nil
	}
	cfg, warnings, err := Server(c.Params())
	for _, w := range warnings {
		log.Warn(what + ": " + w)
	}
	return cfg, err
}

// Load builds the client's TLS configuration (nil when ssl is off), logging
// each warning, and that certificates go unchecked with trust-all-certs.
func (c *ClientProps) Load(log *slog.Logger, what string) (*tls.Config, error) {
	if !c.SSL {
		return nil, nil
	}
	cfg, warnings, err := Client(c.Params())
	for _, w := range warnings {
		log.Warn(what + ": " + w)
	}
	if err == nil && c.TrustAllCerts {
		log.Warn(what + ": trust-all-certs is true; the server's certificate is not verified")
	}
	return cfg, err
}
