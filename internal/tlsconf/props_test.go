package tlsconf

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluiceio/sluice/conf"
)

// A component's config embeds the props; each problem must come back
// positioned at its own line, beside the component's own.
type server struct {
	Port int `flume:"port"`
	ServerProps
}

func (s *server) Validate() error {
	if s.Port < 0 {
		return conf.Invalid("port", "is negative")
	}
	return s.ServerProps.Validate()
}

type client struct {
	ClientProps
}

func decode(t *testing.T, cfg any, lines ...string) []string {
	t.Helper()
	var ps []conf.Prop
	for i, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.x." + k, Value: v, File: "t.conf", Line: i + 1})
	}
	var got []string
	for _, e := range conf.Decode(cfg, ps) {
		got = append(got, e.Error())
	}
	return got
}

func TestServerPropsDecodeAndValidate(t *testing.T) {
	t.Setenv("FLUME_SSL_KEYSTORE_PATH", "")
	t.Setenv("FLUME_SSL_KEYSTORE_TYPE", "")
	cfg := &server{ServerProps: DefaultServerProps()}
	got := decode(t, cfg, "ssl=true", "keystore-type=BKS", "exclude-protocols=SSLv3 TLS1.0", "include-protocols=TLSv1.4")
	want := []string{
		`keystore (command line): a keystore is required when ssl is true (or set FLUME_SSL_KEYSTORE_PATH)`,
		`a1.x.keystore-type (t.conf:2): "BKS" is not a supported store type (JKS, PKCS12 or PEM)`,
		`a1.x.exclude-protocols (t.conf:3): "TLS1.0": not a protocol name`,
		`a1.x.include-protocols (t.conf:4): "TLSv1.4": not a protocol name`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}

	// The key store may come from the environment, as in Flume; SSLv3 is
	// excluded whatever the list says.
	t.Setenv("FLUME_SSL_KEYSTORE_PATH", "/env/server.p12")
	cfg = &server{ServerProps: DefaultServerProps()}
	if got := decode(t, cfg, "ssl=true", "exclude-protocols=TLSv1.2", "keystore-password=pw"); len(got) != 0 {
		t.Fatalf("errors: %q", got)
	}
	p := cfg.Params()
	if p.KeyStore != "/env/server.p12" || p.KeyStorePassword != "pw" || p.KeyStoreType != "JKS" ||
		!slices.Equal(p.ExcludeProtocols, []string{"TLSv1.2", "SSLv3"}) {
		t.Errorf("params %+v", p)
	}
}

func TestClientPropsDecodeAndValidate(t *testing.T) {
	t.Setenv("FLUME_SSL_TRUSTSTORE_TYPE", "")
	cfg := &client{ClientProps: DefaultClientProps()}
	got := decode(t, cfg, "ssl=true", "truststore-type=BCFKS", "include-protocols=TLSv1.3 SSL")
	if len(got) != 2 || !strings.Contains(got[0], "truststore-type (t.conf:2)") || !strings.Contains(got[1], `include-protocols (t.conf:3): "SSL"`) {
		t.Errorf("got %q", got)
	}
	// trust-all-certs reads no trust store, so its type does not matter.
	cfg = &client{ClientProps: DefaultClientProps()}
	if got := decode(t, cfg, "ssl=true", "trust-all-certs=true", "truststore-type=BCFKS", "truststore=/t.jks"); len(got) != 0 {
		t.Errorf("errors: %q", got)
	}
	p := cfg.Params()
	if !p.TrustAll || p.TrustStore != "/t.jks" || !slices.Contains(p.ExcludeProtocols, "SSLv3") {
		t.Errorf("params %+v", p)
	}
}
