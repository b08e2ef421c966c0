// Package avroipc speaks Flume's Avro RPC as Avro 1.11's Java IPC over
// Netty does, so that Flume's avro sink, avro-client and RPC clients can
// talk to Sluice's avro source, and Sluice's avro sink to Flume's avro
// source.
//
// The layers, from the socket up, are those of Flume's Netty pipeline:
// optional zlib compression (DeflateConn), optional TLS (crypto/tls, above
// compression), frames (FrameReader, AppendFrame), and in each frame's
// payload the Avro handshake (until it completes on that connection), the
// call metadata, the message name and its parameters, or the response.
//
// Server side: a ServerSession per connection decodes calls (ReadCall) and
// encodes replies (AppendReply, AppendError). Client side: Dial returns a
// Client that sends append and appendBatch calls.
package avroipc
