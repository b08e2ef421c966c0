package avroipc

import "crypto/md5"

// ProtocolJSON is Flume 1.11's AvroSourceProtocol exactly as its generated
// Java class renders it (Avro 1.11.0's Protocol.toString()): the licence
// header of flume.avdl became the protocol's doc. The handshake identifies a
// protocol by the MD5 of this text, so it must stay byte for byte as is:
// with it a Flume peer and Sluice agree at the first handshake (BOTH).
const ProtocolJSON = `{"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","doc":"* Licensed to the Apache Software Foundation (ASF) under one\n * or more contributor license agreements.  See the NOTICE file\n * distributed with this work for additional information\n * regarding copyright ownership.  The ASF licenses this file\n * to you under the Apache License, Version 2.0 (the\n * \"License\"); you may not use this file except in compliance\n * with the License.  You may obtain a copy of the License at\n *\n * http://www.apache.org/licenses/LICENSE-2.0\n *\n * Unless required by applicable law or agreed to in writing,\n * software distributed under the License is distributed on an\n * \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY\n * KIND, either express or implied.  See the License for the\n * specific language governing permissions and limitations\n * under the License.","types":[{"type":"enum","name":"Status","symbols":["OK","FAILED","UNKNOWN"]},{"type":"record","name":"AvroFlumeEvent","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}],"messages":{"append":{"request":[{"name":"event","type":"AvroFlumeEvent"}],"response":"Status"},"appendBatch":{"request":[{"name":"events","type":{"type":"array","items":"AvroFlumeEvent"}}],"response":"Status"}}}`

// ProtocolHash is the MD5 of ProtocolJSON, 86aadae2c45474c0fe93ffd0f2350a65.
var ProtocolHash = md5.Sum([]byte(ProtocolJSON))

// Message names of the protocol.
const (
	MsgAppend      = "append"
	MsgAppendBatch = "appendBatch"
)

// Status is the protocol's Status enum, encoded as its symbol index.
type Status int32

// The symbols of Status, in schema order.
const (
	StatusOK Status = iota
	StatusFailed
	StatusUnknown
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusFailed:
		return "FAILED"
	case StatusUnknown:
		return "UNKNOWN"
	}
	return "Status(" + itoa(int64(s)) + ")"
}
