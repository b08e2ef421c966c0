package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice/agent"
)

// The monitoring port's settings beyond Flume's type and port (see
// docs/operations.md).
const (
	monHostProp           = "sluice.monitoring.host"
	monCertProp           = "sluice.monitoring.tls.certFile"
	monKeyProp            = "sluice.monitoring.tls.keyFile"
	monUserProp           = "sluice.monitoring.auth.user"
	monPasswordFileProp   = "sluice.monitoring.auth.passwordFile"
	monPasswordEnv        = "SLUICE_MONITORING_PASSWORD"
	monUnhealthyAfterProp = "sluice.monitoring.unhealthyAfter"
)

// monitorSettings reads the -D properties of the monitoring port: the
// address to bind (loopback unless sluice.monitoring.host says otherwise)
// and the TLS, basic authentication and health settings. The password is
// read from a file or the environment, never from the command line, where
// any local user could read it.
func monitorSettings(system map[string]string, getenv func(string) string) (string, agent.MonitorConfig, error) {
	var c agent.MonitorConfig
	port := strings.TrimSpace(system["flume.monitoring.port"])
	if port == "" {
		port = "41414"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", c, fmt.Errorf("-Dflume.monitoring.port: %q is not a port number", port)
	}
	host := "127.0.0.1"
	if h, ok := system[monHostProp]; ok {
		host = strings.TrimSpace(h) // "" or 0.0.0.0: every interface, as Flume
	}
	c.CertFile = strings.TrimSpace(system[monCertProp])
	c.KeyFile = strings.TrimSpace(system[monKeyProp])
	if (c.CertFile == "") != (c.KeyFile == "") {
		return "", c, fmt.Errorf("-D%s and -D%s go together: set both or neither", monCertProp, monKeyProp)
	}
	if _, ok := system["sluice.monitoring.auth.password"]; ok {
		return "", c, fmt.Errorf("-Dsluice.monitoring.auth.password is not accepted (the command line is visible to every local user): use -D%s or the environment variable %s", monPasswordFileProp, monPasswordEnv)
	}
	c.User = system[monUserProp]
	if c.User != "" {
		if f := strings.TrimSpace(system[monPasswordFileProp]); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", c, fmt.Errorf("-D%s: %w", monPasswordFileProp, err)
			}
			c.Password = strings.TrimRight(string(b), "\r\n")
		} else {
			c.Password = getenv(monPasswordEnv)
		}
		if c.Password == "" {
			return "", c, fmt.Errorf("-D%s is set but no password: put it in the file named by -D%s or in %s", monUserProp, monPasswordFileProp, monPasswordEnv)
		}
	} else if system[monPasswordFileProp] != "" {
		return "", c, fmt.Errorf("-D%s is set without -D%s", monPasswordFileProp, monUserProp)
	}
	if v, ok := system[monUnhealthyAfterProp]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return "", c, fmt.Errorf("-D%s: %q is not a positive duration (e.g. 30s, 2m)", monUnhealthyAfterProp, v)
		}
		c.UnhealthyAfter = d
	}
	return net.JoinHostPort(host, port), c, nil
}
