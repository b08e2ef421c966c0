package main

import (
	"testing"
	"time"
)

func TestPollInterval(t *testing.T) {
	cases := []struct {
		args    []string
		want    time.Duration
		wantErr bool
	}{
		{nil, 30 * time.Second, false},
		{[]string{"--no-reload-conf"}, 0, false},
		{[]string{"--no-reload-conf", "-i", "5"}, 0, false},
		{[]string{"-i", "5"}, 5 * time.Second, false},
		{[]string{"--poll-interval=7"}, 7 * time.Second, false},
		{[]string{"-i", "0"}, 30 * time.Second, false},
		{[]string{"-Dsluice.conf.pollInterval=200ms", "-i", "5"}, 200 * time.Millisecond, false},
		{[]string{"-Dsluice.conf.pollInterval=0s"}, 0, true},
		{[]string{"-Dsluice.conf.pollInterval=soon"}, 0, true},
		{[]string{"-i", "-1"}, 0, true},
		{[]string{"-i", "ten"}, 0, true},
	}
	for _, c := range cases {
		a, err := parseAgentArgs(append([]string{"-n", "a1", "-f", "x.conf"}, c.args...))
		var got time.Duration
		if err == nil {
			got, err = pollInterval(a)
		}
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%q: %v, %v; want %v (error %v)", c.args, got, err, c.want, c.wantErr)
		}
	}
}
