// Package all links every built-in component type into a binary. The
// command and the cross-component tests import it; a new component adds one
// line here.
package all

import (
	_ "github.com/sluiceio/sluice/channels/file"
	_ "github.com/sluiceio/sluice/channels/kafka"
	_ "github.com/sluiceio/sluice/channels/memory"
	_ "github.com/sluiceio/sluice/channels/selector"
	_ "github.com/sluiceio/sluice/interceptors"
	_ "github.com/sluiceio/sluice/sinks/avro"
	_ "github.com/sluiceio/sluice/sinks/elasticsearch"
	_ "github.com/sluiceio/sluice/sinks/fileroll"
	_ "github.com/sluiceio/sluice/sinks/hbase"
	_ "github.com/sluiceio/sluice/sinks/hdfs"
	_ "github.com/sluiceio/sluice/sinks/http"
	_ "github.com/sluiceio/sluice/sinks/kafka"
	_ "github.com/sluiceio/sluice/sinks/logger"
	_ "github.com/sluiceio/sluice/sinks/null"
	_ "github.com/sluiceio/sluice/sinks/processor"
	_ "github.com/sluiceio/sluice/sinks/serializer"
	_ "github.com/sluiceio/sluice/sinks/thrift"
	_ "github.com/sluiceio/sluice/sources/avro"
	_ "github.com/sluiceio/sluice/sources/exec"
	_ "github.com/sluiceio/sluice/sources/http"
	_ "github.com/sluiceio/sluice/sources/kafka"
	_ "github.com/sluiceio/sluice/sources/netcat"
	_ "github.com/sluiceio/sluice/sources/netcatudp"
	_ "github.com/sluiceio/sluice/sources/seq"
	_ "github.com/sluiceio/sluice/sources/spooldir"
	_ "github.com/sluiceio/sluice/sources/stress"
	_ "github.com/sluiceio/sluice/sources/syslog"
	_ "github.com/sluiceio/sluice/sources/taildir"
	_ "github.com/sluiceio/sluice/sources/thrift"
)
