package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMonitorSettings(t *testing.T) {
	noEnv := func(string) string { return "" }
	addr, c, err := monitorSettings(map[string]string{"flume.monitoring.type": "http"}, noEnv)
	if err != nil || addr != "127.0.0.1:41414" {
		t.Errorf("defaults: %q %v; want loopback on Flume's port 41414", addr, err)
	}
	if c.User != "" || c.CertFile != "" || c.UnhealthyAfter != 0 {
		t.Errorf("defaults: %+v", c)
	}
	addr, _, _ = monitorSettings(map[string]string{"flume.monitoring.port": "9000", monHostProp: "0.0.0.0"}, noEnv)
	if addr != "0.0.0.0:9000" {
		t.Errorf("host 0.0.0.0: %q", addr)
	}
	addr, _, _ = monitorSettings(map[string]string{monHostProp: "::1"}, noEnv)
	if addr != "[::1]:41414" {
		t.Errorf("host ::1: %q", addr)
	}

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, err = monitorSettings(map[string]string{monUserProp: "ops", monPasswordFileProp: pwFile, monUnhealthyAfterProp: "45s"}, noEnv)
	if err != nil || c.User != "ops" || c.Password != "fromfile" || c.UnhealthyAfter != 45*time.Second {
		t.Errorf("password file: %+v %v", c, err)
	}
	_, c, err = monitorSettings(map[string]string{monUserProp: "ops"}, func(k string) string {
		if k == monPasswordEnv {
			return "fromenv"
		}
		return ""
	})
	if err != nil || c.Password != "fromenv" {
		t.Errorf("password from the environment: %+v %v", c, err)
	}

	bad := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"flume.monitoring.port": "http"}, `"http" is not a port number`},
		{map[string]string{monCertProp: "c.pem"}, "set both or neither"},
		{map[string]string{monUserProp: "ops"}, "no password"},
		{map[string]string{monUserProp: "ops", "sluice.monitoring.auth.password": "hunter2"}, "is not accepted"},
		{map[string]string{monPasswordFileProp: pwFile}, "without -D" + monUserProp},
		{map[string]string{monUserProp: "ops", monPasswordFileProp: filepath.Join(dir, "none")}, monPasswordFileProp},
		{map[string]string{monUnhealthyAfterProp: "soon"}, `"soon" is not a positive duration`},
	}
	for _, b := range bad {
		_, _, err := monitorSettings(b.props, noEnv)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%v: error %v, want one containing %q", b.props, err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
