package avroipc

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

// The vectors below were captured from Flume 1.11.0's generated
// AvroSourceProtocol classes driven by Avro 1.11.0's SpecificRequestor and
// SpecificResponder (the code Flume's avro sink, avro-client and avro
// source run), with the transceiver replaced by a recorder. Brackets mark
// Java's buffer boundaries, which carry no meaning on the wire.

const (
	javaHash = "86aadae2c45474c0fe93ffd0f2350a65"
	// First append of a fresh client: handshake (client hash, null
	// protocol, server hash guessed = own, empty meta map), call meta,
	// "append", event {headers {a: b}, body "hi"}.
	javaFirstAppend = "[" + javaHash + "00" + javaHash + "0200000c617070656e64][020261026200046869]"
	// appendBatch on a connected client: two events, the second with no
	// headers and body 00 ff.
	javaBatchConnected = "[0016617070656e644261746368][04020261026200046869000400ff00]"
	// The responder's answers.
	javaReplyBoth            = "[00000000][00][0000]"
	javaReplyFailedConnected = "[][00][0002]"
	javaReplyPingConnected   = "[]"
	javaReplyPingHandshake   = "[00000000]"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer("[", "", "]", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProtocolHash(t *testing.T) {
	if got := hex.EncodeToString(ProtocolHash[:]); got != javaHash {
		t.Fatalf("MD5 of the protocol text = %s, want %s (Flume 1.11.0's AvroSourceProtocol.PROTOCOL.getMD5())", got, javaHash)
	}
	// Without its doc (what a later Avro's IDL compiler would emit) the
	// protocol hashes differently, which is why a peer must survive a
	// handshake mismatch.
	noDoc := regexp.MustCompile(`"doc":"(?:[^"\\]|\\.)*",`).ReplaceAllString(ProtocolJSON, "")
	if strings.Contains(noDoc, `"doc"`) {
		t.Fatal("doc not removed")
	}
	if got := md5.Sum([]byte(noDoc)); hex.EncodeToString(got[:]) != "30da54059df72d9584b867d5202e2069" {
		t.Errorf("hash without doc = %x", got)
	}
}

func frame(serial int32, payload []byte) []byte { return AppendFrame(nil, serial, payload) }

func TestClientRequestsMatchJava(t *testing.T) {
	remoteHashes.Delete("vec:1")
	s := NewClientSession("vec:1")
	ev := &sluice.Event{Headers: map[string]string{"a": "b"}, Body: []byte("hi")}
	got := s.AppendRequest(nil, 1, MsgAppend, []*sluice.Event{ev})
	if want := frame(1, unhex(t, javaFirstAppend)); !bytes.Equal(got, want) {
		t.Fatalf("first append:\n got %x\nwant %x", got, want)
	}
	if resend, st, err := s.ReadResponse(unhex(t, javaReplyBoth)); err != nil || resend || st != StatusOK {
		t.Fatalf("BOTH reply: resend=%v status=%v err=%v", resend, st, err)
	}
	if !s.Connected() {
		t.Fatal("not connected after BOTH")
	}
	ev2 := &sluice.Event{Headers: map[string]string{}, Body: []byte{0, 0xff}}
	got = s.AppendRequest(nil, 2, MsgAppendBatch, []*sluice.Event{ev, ev2})
	if want := frame(2, unhex(t, javaBatchConnected)); !bytes.Equal(got, want) {
		t.Fatalf("appendBatch:\n got %x\nwant %x", got, want)
	}
	if _, st, err := s.ReadResponse(unhex(t, javaReplyFailedConnected)); err != nil || st != StatusFailed {
		t.Fatalf("FAILED reply: status=%v err=%v", st, err)
	}
}

func TestServerRepliesMatchJava(t *testing.T) {
	s := NewServerSession(&ServerProtocols{}, 0)
	call, err := s.ReadCall(unhex(t, javaFirstAppend))
	if err != nil {
		t.Fatal(err)
	}
	if call.Kind != CallAppend || len(call.Events) != 1 || call.Events[0].Headers["a"] != "b" || string(call.Events[0].Body) != "hi" {
		t.Fatalf("decoded %+v", call)
	}
	if got, want := s.AppendReply(nil, 7, call.Kind, StatusOK), frame(7, unhex(t, javaReplyBoth)); !bytes.Equal(got, want) {
		t.Fatalf("reply:\n got %x\nwant %x", got, want)
	}
	call, err = s.ReadCall(unhex(t, javaBatchConnected))
	if err != nil {
		t.Fatal(err)
	}
	if call.Kind != CallAppendBatch || len(call.Events) != 2 || !bytes.Equal(call.Events[1].Body, []byte{0, 0xff}) || len(call.Events[1].Headers) != 0 {
		t.Fatalf("decoded %+v", call)
	}
	if got, want := s.AppendReply(nil, 8, call.Kind, StatusFailed), frame(8, unhex(t, javaReplyFailedConnected)); !bytes.Equal(got, want) {
		t.Fatalf("reply:\n got %x\nwant %x", got, want)
	}
	call, err = s.ReadCall(unhex(t, "0000"))
	if err != nil || call.Kind != CallPing {
		t.Fatalf("ping: %+v %v", call, err)
	}
	if got, want := s.AppendReply(nil, 9, call.Kind, 0), frame(9, unhex(t, javaReplyPingConnected)); !bytes.Equal(got, want) {
		t.Fatalf("ping reply:\n got %x\nwant %x", got, want)
	}

	// A ping before the handshake is answered with the handshake alone.
	s = NewServerSession(&ServerProtocols{}, 0)
	call, err = s.ReadCall(unhex(t, javaHash+"00"+javaHash+"0200"+"00"+"00"))
	if err != nil || call.Kind != CallPing {
		t.Fatalf("ping: %+v %v", call, err)
	}
	if got, want := s.AppendReply(nil, 1, call.Kind, 0), frame(1, unhex(t, javaReplyPingHandshake)); !bytes.Equal(got, want) {
		t.Fatalf("ping reply:\n got %x\nwant %x", got, want)
	}
}

// handshakeReply is what Java's responder sends with NONE or CLIENT: the
// match, its protocol text, its hash and a null meta.
func handshakeReply(match byte) string {
	p := appendString(nil, ProtocolJSON)
	return hex.EncodeToString([]byte{match, 2}) + hex.EncodeToString(p) + "02" + javaHash + "00"
}

func TestServerUnknownClientHash(t *testing.T) {
	protos := &ServerProtocols{}
	s := NewServerSession(protos, 0)
	other := strings.Repeat("ab", 16)
	req := unhex(t, other+"00"+javaHash+"0200"+"00"+"0c617070656e64"+"02026102620004"+"6869")
	call, err := s.ReadCall(req)
	if err != nil {
		t.Fatal(err)
	}
	if call.Kind != CallHandshake || s.Connected() {
		t.Fatalf("unknown client hash: kind %v connected %v", call.Kind, s.Connected())
	}
	// Java answers NONE with its protocol and hash, and no response body.
	if got, want := s.AppendReply(nil, 1, call.Kind, StatusOK), frame(1, unhex(t, handshakeReply(4))); !bytes.Equal(got, want) {
		t.Fatalf("NONE reply:\n got %x\nwant %x", got, want)
	}
	// The client sends the call again with its protocol text: here Flume's
	// protocol without its doc, which hashes differently but is compatible.
	noDoc := regexp.MustCompile(`"doc":"(?:[^"\\]|\\.)*",`).ReplaceAllString(ProtocolJSON, "")
	req = append(unhex(t, other+"02"), appendString(nil, noDoc)...)
	req = append(req, unhex(t, javaHash+"0200"+"00"+"0c617070656e64"+"02026102620004"+"6869")...)
	if call, err = s.ReadCall(req); err != nil || call.Kind != CallAppend || string(call.Events[0].Body) != "hi" {
		t.Fatalf("resent call: %+v %v", call, err)
	}
	if got, want := s.AppendReply(nil, 2, call.Kind, StatusOK), frame(2, unhex(t, javaReplyBoth)); !bytes.Equal(got, want) {
		t.Fatalf("BOTH reply:\n got %x\nwant %x", got, want)
	}
	// The next connection from that client is known at once.
	s2 := NewServerSession(protos, 0)
	if call, err := s2.ReadCall(unhex(t, other+"00"+javaHash+"0200"+"00"+"00")); err != nil || call.Kind != CallPing || !s2.Connected() {
		t.Fatalf("known client: %+v %v", call, err)
	}
}

func TestServerClientMatch(t *testing.T) {
	// A known client that guessed a wrong server hash gets CLIENT, with the
	// server's protocol, and its call is answered.
	s := NewServerSession(&ServerProtocols{}, 0)
	req := unhex(t, javaHash+"00"+strings.Repeat("00", 16)+"0200"+"00"+"0c617070656e64"+"00"+"00")
	call, err := s.ReadCall(req)
	if err != nil || call.Kind != CallAppend {
		t.Fatalf("%+v %v", call, err)
	}
	want := frame(3, unhex(t, handshakeReply(2)+"00"+"00"+"00"))
	if got := s.AppendReply(nil, 3, call.Kind, StatusOK); !bytes.Equal(got, want) {
		t.Fatalf("CLIENT reply:\n got %x\nwant %x", got, want)
	}
}

func TestClientResendsWithProtocolOnNone(t *testing.T) {
	remoteHashes.Delete("vec:2")
	s := NewClientSession("vec:2")
	ev := &sluice.Event{Headers: map[string]string{"a": "b"}, Body: []byte("hi")}
	_ = s.AppendRequest(nil, 1, MsgAppend, []*sluice.Event{ev})
	// A server with another hash (here the same text, for a valid
	// protocol) answers NONE.
	otherHash := strings.Repeat("cd", 16)
	none := "0402" + hex.EncodeToString(appendString(nil, ProtocolJSON)) + "02" + otherHash + "00"
	resend, _, err := s.ReadResponse(unhex(t, none))
	if err != nil || !resend {
		t.Fatalf("NONE: resend=%v err=%v", resend, err)
	}
	got := s.AppendRequest(nil, 2, MsgAppend, []*sluice.Event{ev})
	// As Java: client hash, the protocol text, the server hash it was told.
	want := append(unhex(t, javaHash+"02"), appendString(nil, ProtocolJSON)...)
	want = append(want, unhex(t, otherHash+"0200"+"00"+"0c617070656e64"+"02026102620004"+"6869")...)
	if !bytes.Equal(got, frame(2, want)) {
		t.Fatalf("resent request:\n got %x\nwant %x", got, frame(2, want))
	}
	if _, st, err := s.ReadResponse(unhex(t, javaReplyBoth)); err != nil || st != StatusOK || !s.Connected() {
		t.Fatalf("BOTH: %v %v", st, err)
	}
	// A new connection to that address offers the remembered hash.
	s2 := NewClientSession("vec:2")
	got = s2.AppendRequest(nil, 1, MsgAppend, []*sluice.Event{ev})
	if !bytes.Contains(got, unhex(t, "00"+otherHash+"0200")) {
		t.Fatalf("second connection did not offer the remembered server hash: %x", got)
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string
	}{
		{"garbage handshake", "0102", "handshake"},
		{"bad union index", javaHash + "06", "union index 3"},
		{"unknown message", javaHash + "00" + javaHash + "0200" + "00" + "06666f6f", `no message named "foo"`},
		{"truncated event", javaHash + "00" + javaHash + "0200" + "00" + "0c617070656e64" + "0202", "truncated"},
		{"negative body length", javaHash + "00" + javaHash + "0200" + "00" + "0c617070656e64" + "00" + "03", "negative length"},
		{"huge batch count", javaHash + "00" + javaHash + "0200" + "00" + "16617070656e644261746368" + "feffffff0f", "truncated"},
		{"bad client protocol", strings.Repeat("ab", 16) + "02" + "087b7d7d7d" + javaHash + "0200", "protocol text does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServerSession(&ServerProtocols{}, 0)
			_, err := s.ReadCall(unhex(t, tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			// The error reply has Java's shape: (handshake) meta, true,
			// union branch 0, message.
			r := s.AppendError(nil, 1, err.Error())
			if !bytes.Contains(r, append([]byte{0, 1, 0}, appendString(nil, err.Error())...)) {
				t.Fatalf("error reply %x", r)
			}
		})
	}
}

func TestNegativeBlockCounts(t *testing.T) {
	// Avro allows a block to be written with a negative count followed by
	// its size in bytes; Java never writes it but readers must accept it.
	s := NewServerSession(&ServerProtocols{}, 0)
	// appendBatch, one block of -1 events (size 9), the event's headers in
	// a block of -1 (size 4).
	payload := javaHash + "00" + javaHash + "0200" + "00" + "16617070656e644261746368" +
		"01" + "12" + "01" + "08" + "02610262" + "00" + "046869" + "00"
	call, err := s.ReadCall(unhex(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	if len(call.Events) != 1 || call.Events[0].Headers["a"] != "b" || string(call.Events[0].Body) != "hi" {
		t.Fatalf("decoded %+v", call.Events)
	}
}

func TestRemoteErrorAndStatuses(t *testing.T) {
	s := NewClientSession("vec:3")
	s.connected = true
	_, _, err := s.ReadResponse(unhex(t, "000100"+hex.EncodeToString(appendString(nil, "boom"))))
	if re, ok := err.(*RemoteError); !ok || re.Message != "boom" {
		t.Fatalf("error response: %v", err)
	}
	for b, want := range map[string]Status{"00": StatusOK, "02": StatusFailed, "04": StatusUnknown} {
		if _, st, err := s.ReadResponse(unhex(t, "0000"+b)); err != nil || st != want {
			t.Errorf("status %s: %v %v", b, st, err)
		}
	}
	if _, _, err := s.ReadResponse(unhex(t, "000006")); err == nil {
		t.Error("status 3 accepted")
	}
}
