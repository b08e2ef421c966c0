package main

import (
	"fmt"
	"os"
	"strings"
)

// javaSSLProps are Flume's global SSL system properties, each with the
// environment variable that stands for it when the property is not given.
// In Flume a property wins over its variable, and both fill what a
// component's own SSL properties leave unset.
var javaSSLProps = [][2]string{
	{"javax.net.ssl.keyStore", "FLUME_SSL_KEYSTORE_PATH"},
	{"javax.net.ssl.keyStorePassword", "FLUME_SSL_KEYSTORE_PASSWORD"},
	{"javax.net.ssl.keyStoreType", "FLUME_SSL_KEYSTORE_TYPE"},
	{"javax.net.ssl.trustStore", "FLUME_SSL_TRUSTSTORE_PATH"},
	{"javax.net.ssl.trustStorePassword", "FLUME_SSL_TRUSTSTORE_PASSWORD"},
	{"javax.net.ssl.trustStoreType", "FLUME_SSL_TRUSTSTORE_TYPE"},
	{"flume.ssl.include.protocols", "FLUME_SSL_INCLUDE_PROTOCOLS"},
	{"flume.ssl.exclude.protocols", "FLUME_SSL_EXCLUDE_PROTOCOLS"},
	{"flume.ssl.include.cipherSuites", "FLUME_SSL_INCLUDE_CIPHERSUITES"},
	{"flume.ssl.exclude.cipherSuites", "FLUME_SSL_EXCLUDE_CIPHERSUITES"},
}

// applyJavaSSLProps gives -Djavax.net.ssl.* and -Dflume.ssl.* their Flume
// meaning. Sluice's components read the FLUME_SSL_* variables, so each
// property given is set as its variable for this process, over what the
// environment held. It returns a note per property applied, naming it and
// never its value; a password given this way is readable by every local
// user in the process list, which the note says.
func applyJavaSSLProps(system map[string]string) ([]string, error) {
	var notes []string
	for _, p := range javaSSLProps {
		v, ok := system[p[0]]
		if !ok {
			continue
		}
		if err := os.Setenv(p[1], v); err != nil {
			return notes, fmt.Errorf("-D%s: %w", p[0], err)
		}
		note := fmt.Sprintf("-D%s applies as %s", p[0], p[1])
		if strings.HasSuffix(p[0], "Password") {
			note += " (a password on the command line is visible to every local user: prefer the environment variable)"
		}
		notes = append(notes, note)
	}
	return notes, nil
}
