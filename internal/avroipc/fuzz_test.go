package avroipc

import (
	"bytes"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

// FuzzFrameDecoder feeds arbitrary bytes to the frame reader and every
// frame it yields to the server's call decoder and the client's response
// decoder. None may panic, and none may hold more than the limits allow.
func FuzzFrameDecoder(f *testing.F) {
	const limit = 4096
	seeds := []string{
		javaFirstAppend, javaBatchConnected, javaReplyBoth, javaReplyFailedConnected,
		javaHash + "00" + javaHash + "0200" + "00" + "16617070656e644261746368" + "01" + "12" + "01" + "08" + "02610262" + "00" + "046869" + "00",
		handshakeReply(4), handshakeReply(2) + "000000",
		"0102", "",
	}
	for i, s := range seeds {
		b, _ := hex.DecodeString(stripBrackets(s))
		f.Add(AppendFrame(nil, int32(i+1), b))
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff})
	f.Add(append(AppendFrame(nil, 1, nil), AppendFrame(nil, 2, []byte{0, 0})...))

	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFrameReader(bytes.NewReader(data), limit)
		server := NewServerSession(&ServerProtocols{}, limit)
		client := NewClientSession("fuzz:1")
		for {
			_, payload, err := fr.ReadFrame()
			if err != nil {
				if err != io.EOF && len(data) == 0 {
					t.Fatalf("empty input: %v", err)
				}
				return
			}
			if cap(payload) > limit {
				t.Fatalf("payload capacity %d over the limit %d", cap(payload), limit)
			}
			call, err := server.ReadCall(payload)
			if err == nil && len(call.Events) > limit/32 {
				t.Fatalf("%d events from a %d-byte frame", len(call.Events), len(payload))
			}
			_ = server.AppendReply(nil, 1, call.Kind, StatusOK)
			if err != nil {
				_ = server.AppendError(nil, 1, err.Error())
			}
			_, _, _ = client.ReadResponse(payload)
		}
	})
}

func stripBrackets(s string) string {
	return strings.NewReplacer("[", "", "]", "").Replace(s)
}
