package hdfs

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/colinmarc/hdfs/v2/hadoopconf"
)

// target is where hdfs.path points: the NameNode(s) and the path part.
type target struct {
	addrs []string // host:port of the NameNode(s)
	path  string   // absolute path, still with escapes
}

// parseTarget reads hdfs.path: hdfs://host[:port]/dir, hdfs://nameservice/dir
// (resolved through HADOOP_CONF_DIR), or /dir on fs.defaultFS.
func parseTarget(p string) (target, error) {
	rest, ok := strings.CutPrefix(p, "hdfs://")
	if !ok {
		if i := strings.Index(p, "://"); i > 0 && !strings.ContainsAny(p[:i], "/%") {
			return target{}, fmt.Errorf("scheme %q is not supported (only hdfs://; use file_roll for local files)", p[:i])
		}
		if !strings.HasPrefix(p, "/") {
			return target{}, errors.New("must be hdfs://namenode[:port]/dir or an absolute path on fs.defaultFS")
		}
		return target{path: p}, nil // the NameNode comes from the Hadoop configuration at start
	}
	auth, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	if auth == "" {
		return target{path: path}, nil
	}
	if strings.ContainsAny(auth, "%") {
		return target{}, errors.New("escapes are not allowed in the NameNode address")
	}
	if _, _, err := net.SplitHostPort(auth); err == nil {
		return target{addrs: []string{auth}, path: path}, nil
	}
	return target{addrs: []string{auth}, path: path}, nil // a host or nameservice; resolved at start
}

// resolve turns a host without port or a nameservice into addresses, with
// the Hadoop configuration of HADOOP_CONF_DIR / HADOOP_HOME if there is one.
func (t target) resolve() ([]string, error) {
	hc, _ := hadoopconf.LoadFromEnvironment()
	if len(t.addrs) == 0 {
		nn := hc.Namenodes()
		if len(nn) == 0 {
			return nil, errors.New("hdfs.path names no NameNode (hdfs://host:port/...) and no fs.defaultFS was found in HADOOP_CONF_DIR")
		}
		return nn, nil
	}
	auth := t.addrs[0]
	if _, _, err := net.SplitHostPort(auth); err == nil {
		return t.addrs, nil
	}
	// A nameservice: dfs.namenode.rpc-address.<ns>.<nn>.
	var out []string
	prefix := "dfs.namenode.rpc-address." + auth + "."
	for k, v := range hc {
		if strings.HasPrefix(k, prefix) {
			out = append(out, v)
		}
	}
	if len(out) > 0 {
		sort.Strings(out)
		return out, nil
	}
	return []string{net.JoinHostPort(auth, "8020")}, nil
}
