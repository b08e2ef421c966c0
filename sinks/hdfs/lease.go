package hdfs

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// colinmarc/hdfs has no recoverLease (Java's DistributedFileSystem
// .recoverLease, which Flume calls on a file it could not close). Its
// NameNode connection can send any ClientProtocol call, but it is
// unexported: recoverLease reaches it by reflection and sends the two
// small messages below, built at run time. The client version is pinned in
// go.mod, and TestRecoverLease checks the call against the real NameNode.

var leaseMsgs struct {
	once      sync.Once
	req, resp protoreflect.MessageDescriptor
	err       error
}

func leaseDescriptors() (protoreflect.MessageDescriptor, protoreflect.MessageDescriptor, error) {
	leaseMsgs.once.Do(func() {
		str, b := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_BOOL
		req := descriptorpb.FieldDescriptorProto_LABEL_REQUIRED
		field := func(name string, n int32, t descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
			return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: t.Enum(), Label: req.Enum()}
		}
		fd := &descriptorpb.FileDescriptorProto{
			Name:    proto.String("sluice_hdfs_lease.proto"),
			Package: proto.String("sluice.hdfs.lease"),
			Syntax:  proto.String("proto2"),
			MessageType: []*descriptorpb.DescriptorProto{
				{Name: proto.String("RecoverLeaseRequestProto"), Field: []*descriptorpb.FieldDescriptorProto{field("src", 1, str), field("clientName", 2, str)}},
				{Name: proto.String("RecoverLeaseResponseProto"), Field: []*descriptorpb.FieldDescriptorProto{field("result", 1, b)}},
			},
		}
		f, err := protodesc.NewFile(fd, nil)
		if err != nil {
			leaseMsgs.err = err
			return
		}
		leaseMsgs.req, leaseMsgs.resp = f.Messages().Get(0), f.Messages().Get(1)
	})
	return leaseMsgs.req, leaseMsgs.resp, leaseMsgs.err
}

// recoverLease asks the NameNode to take the lease of path away from the
// writer that holds it (a crashed agent, or this one after a failed close)
// and close the file. It reports whether the file is closed now; false
// means recovery started and the call should be repeated later.
func recoverLease(c *hdfs.Client, path string) (bool, error) {
	reqD, respD, err := leaseDescriptors()
	if err != nil {
		return false, fmt.Errorf("recoverLease: %w", err)
	}
	v := reflect.ValueOf(c).Elem().FieldByName("namenode")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return false, errors.New("recoverLease: this version of the HDFS client has no NameNode connection to use")
	}
	nn := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	exec := nn.MethodByName("Execute")
	name := nn.Elem().FieldByName("ClientName")
	if !exec.IsValid() || !name.IsValid() || name.Kind() != reflect.String {
		return false, errors.New("recoverLease: this version of the HDFS client cannot send the call")
	}
	req := dynamicpb.NewMessage(reqD)
	req.Set(reqD.Fields().ByName("src"), protoreflect.ValueOfString(path))
	req.Set(reqD.Fields().ByName("clientName"), protoreflect.ValueOfString(name.String()))
	resp := dynamicpb.NewMessage(respD)
	out := exec.Call([]reflect.Value{reflect.ValueOf("recoverLease"), reflect.ValueOf(proto.Message(req)), reflect.ValueOf(proto.Message(resp))})
	if e, _ := out[0].Interface().(error); e != nil {
		return false, e
	}
	return resp.Get(respD.Fields().ByName("result")).Bool(), nil
}
