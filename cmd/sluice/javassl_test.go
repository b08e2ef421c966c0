package main

import (
	"os"
	"strings"
	"testing"
)

// -Djavax.net.ssl.* and -Dflume.ssl.* become the FLUME_SSL_* variables,
// over what the environment held, as in Flume (a system property wins over
// its variable); the notes name the properties, never their values.
func TestApplyJavaSSLProps(t *testing.T) {
	t.Setenv("FLUME_SSL_TRUSTSTORE_PATH", "/from/env.jks")
	t.Setenv("FLUME_SSL_KEYSTORE_PATH", "/kept.jks")
	t.Setenv("FLUME_SSL_TRUSTSTORE_PASSWORD", "")
	t.Setenv("FLUME_SSL_EXCLUDE_PROTOCOLS", "")
	notes, err := applyJavaSSLProps(map[string]string{
		"javax.net.ssl.trustStore":         "/from/prop.p12",
		"javax.net.ssl.trustStorePassword": "Pw-Prop-77",
		"flume.ssl.exclude.protocols":      "TLSv1,TLSv1.1",
		"flume.monitoring.port":            "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"FLUME_SSL_TRUSTSTORE_PATH":     "/from/prop.p12",
		"FLUME_SSL_TRUSTSTORE_PASSWORD": "Pw-Prop-77",
		"FLUME_SSL_EXCLUDE_PROTOCOLS":   "TLSv1,TLSv1.1",
		"FLUME_SSL_KEYSTORE_PATH":       "/kept.jks",
	} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	all := strings.Join(notes, "\n")
	if len(notes) != 3 || !strings.Contains(all, "-Djavax.net.ssl.trustStorePassword applies as FLUME_SSL_TRUSTSTORE_PASSWORD (a password on the command line") {
		t.Errorf("notes:\n%s", all)
	}
	if strings.Contains(all, "Pw-Prop-77") || strings.Contains(all, "/from/prop.p12") {
		t.Errorf("a note shows a value:\n%s", all)
	}
}
