// Package peers starts real peer servers (Apache Flume today; Kafka, HDFS and an
// Elasticsearch-API server later) as child JVMs on loopback, for interop tests
// and side-by-side benchmarks. See docs/peers.md.
//
// Every peer follows one pattern: test/peers/<name>/pom.xml lists its jars,
// scripts/peers.sh fetch <name> copies them to .peers/<name>/lib (cached),
// and a Start<Name>(t, opts) helper runs it in its own process group with its
// output in a file, waits until it is ready and stops it when the test ends.
// Each Start<Name> has a Start<Name>Process(ctx, opts) twin for programs that
// are not tests (the benchmark command).
//
// Failures are loud: a missing Java, Maven or jar, or a peer that dies before
// it is ready, fails the test with the tail of the peer's log. Nothing skips.
package peers
