// Package flumethrift is Flume's Thrift RPC (ThriftSourceProtocol: append
// and appendBatch of ThriftFlumeEvent) as the thrift source and sink speak
// it: Thrift's framed transport (a 4-byte big-endian length before each
// message) carrying the compact or binary protocol, plain or inside TLS.
//
// The structs and the service's argument and result types are generated
// from Flume 1.11's IDL (flume.thrift, copied from
// flume-ng-sdk/src/main/thrift/flume.thrift at release-1.11.0) into the
// flume folder by Debian's thrift-compiler 0.17.0; they build against
// github.com/apache/thrift v0.22.0. This package adds what the generated
// code lacks for a server facing untrusted peers: bounded frame reading,
// container sizes checked against the bytes actually received, and calls
// decoded straight into Sluice events.
package flumethrift

//go:generate sh -c "rm -rf flume && thrift --gen go:package=flume,skip_remote -out . flume.thrift && gofmt -w flume"
