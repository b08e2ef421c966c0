package plugins

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluiceio/sluice/test/peers"
)

// The redis plugin sink against a three-master Redis Cluster: keys named
// by a header spread over the masters' slots, and a master stopped and
// started again mid-stream loses nothing (append-only with fsync always,
// so what it acknowledged survives its restart).
func TestRedisClusterMasterRestart(t *testing.T) {
	nodes := peers.StartRedisCluster(t, 3)
	addrs := ""
	var list []string
	for i, n := range nodes {
		if i > 0 {
			addrs += ","
		}
		addrs += n.Addr()
		list = append(list, n.Addr())
	}
	const total = 400000
	conf := seqConf(total, addrs, "ev:%{k}", `a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = regex_extractor
a1.sources.r1.interceptors.i1.regex = (\\d)$
a1.sources.r1.interceptors.i1.serializers = s1
a1.sources.r1.interceptors.i1.serializers.s1.name = k
`)
	ag := startAgent(t, conf)
	redis.SetLogger(quiet{}) // the test's own client, while a master is away
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: list})
	defer rc.Close()
	ctx := context.Background()
	var keys []string
	for d := 0; d < 10; d++ {
		keys = append(keys, fmt.Sprintf("ev:%d", d))
	}
	count := func() int64 {
		var n int64
		for _, k := range keys {
			l, _ := rc.LLen(ctx, k).Result()
			n += l
		}
		return n
	}
	// Every master holds some of the keys.
	waitFor(t, "50000 events", 60*time.Second, func() bool { return count() >= 50000 })
	for _, n := range nodes {
		if size, _ := n.Cli("dbsize"); size == "0" {
			t.Fatalf("master %s holds none of the keys", n.Addr())
		}
	}
	victim := nodes[1]
	if err := victim.Stop(); err != nil {
		t.Fatal(err)
	}
	if c := count(); c >= total {
		t.Fatalf("the stream was over (%d events) before the master stopped", c)
	}
	// The sink's batches fail while the master is away (refused, or the
	// cluster down): the core logs the outage.
	ag.WaitLogFunc("a failed batch", func(out string) bool {
		return strings.Contains(out, "connection refused") || strings.Contains(out, "CLUSTERDOWN")
	}, 60*time.Second)
	if err := victim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		peers.WaitClusterOK(t, n)
	}
	waitFor(t, "every event in the cluster", 180*time.Second, func() bool {
		m, _, err := missing(ctx, rc, total, keys...)
		return err == nil && len(m) == 0
	})
	m, dup, err := missing(ctx, rc, total, keys...)
	if err != nil || len(m) > 0 {
		t.Fatalf("missing %d events (%v)", len(m), err)
	}
	t.Logf("%d events over %d keys on 3 masters, %d duplicates", total, len(keys), dup)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
