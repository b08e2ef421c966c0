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

// namenodeCall reaches the client's NameNode connection: its Execute
// method and its client name.
func namenodeCall(c *hdfs.Client) (reflect.Value, string, error) {
	v := reflect.ValueOf(c).Elem().FieldByName("namenode")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return reflect.Value{}, "", errors.New("this version of the HDFS client has no NameNode connection to use")
	}
	nn := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	exec := nn.MethodByName("Execute")
	name := nn.Elem().FieldByName("ClientName")
	if !exec.IsValid() || !name.IsValid() || name.Kind() != reflect.String {
		return reflect.Value{}, "", errors.New("this version of the HDFS client cannot send NameNode calls")
	}
	return exec, name.String(), nil
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
	exec, name, err := namenodeCall(c)
	if err != nil {
		return false, err
	}
	req := dynamicpb.NewMessage(reqD)
	req.Set(reqD.Fields().ByName("src"), protoreflect.ValueOfString(path))
	req.Set(reqD.Fields().ByName("clientName"), protoreflect.ValueOfString(name))
	resp := dynamicpb.NewMessage(respD)
	out := exec.Call([]reflect.Value{reflect.ValueOf("recoverLease"), reflect.ValueOf(proto.Message(req)), reflect.ValueOf(proto.Message(resp))})
	if e, _ := out[0].Interface().(error); e != nil {
		return false, e
	}
	return resp.Get(respD.Fields().ByName("result")).Bool(), nil
}

var blockMsgs struct {
	once      sync.Once
	req, resp protoreflect.MessageDescriptor
	err       error
}

// blockDescriptors describes getBlockLocations' request and the few fields
// of its answer that lastBlockUnplaced reads (Hadoop's
// GetBlockLocationsRequestProto, LocatedBlocksProto, LocatedBlockProto);
// the other fields are kept as unknown ones.
func blockDescriptors() (protoreflect.MessageDescriptor, protoreflect.MessageDescriptor, error) {
	blockMsgs.once.Do(func() {
		opt, req, rep := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL, descriptorpb.FieldDescriptorProto_LABEL_REQUIRED, descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		str, u64, b, msg := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_UINT64, descriptorpb.FieldDescriptorProto_TYPE_BOOL, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
		field := func(name string, n int32, t descriptorpb.FieldDescriptorProto_Type, l descriptorpb.FieldDescriptorProto_Label, typ string) *descriptorpb.FieldDescriptorProto {
			f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: t.Enum(), Label: l.Enum()}
			if typ != "" {
				f.TypeName = proto.String(".sluice.hdfs.blocks." + typ)
			}
			return f
		}
		fd := &descriptorpb.FileDescriptorProto{
			Name:    proto.String("sluice_hdfs_blocks.proto"),
			Package: proto.String("sluice.hdfs.blocks"),
			Syntax:  proto.String("proto2"),
			MessageType: []*descriptorpb.DescriptorProto{
				{Name: proto.String("GetBlockLocationsRequestProto"), Field: []*descriptorpb.FieldDescriptorProto{
					field("src", 1, str, req, ""), field("offset", 2, u64, req, ""), field("length", 3, u64, req, "")}},
				{Name: proto.String("GetBlockLocationsResponseProto"), Field: []*descriptorpb.FieldDescriptorProto{
					field("locations", 1, msg, opt, "LocatedBlocksProto")}},
				{Name: proto.String("LocatedBlocksProto"), Field: []*descriptorpb.FieldDescriptorProto{
					field("underConstruction", 3, b, opt, ""), field("lastBlock", 4, msg, opt, "LocatedBlockProto"),
					field("isLastBlockComplete", 5, b, opt, "")}},
				{Name: proto.String("LocatedBlockProto"), Field: []*descriptorpb.FieldDescriptorProto{
					field("offset", 2, u64, opt, ""), field("locs", 3, msg, rep, "DatanodeInfoProto")}},
				{Name: proto.String("DatanodeInfoProto")},
			},
		}
		f, err := protodesc.NewFile(fd, nil)
		if err != nil {
			blockMsgs.err = err
			return
		}
		blockMsgs.req, blockMsgs.resp = f.Messages().Get(0), f.Messages().Get(1)
	})
	return blockMsgs.req, blockMsgs.resp, blockMsgs.err
}

// lastBlockUnplaced reports whether path is under construction with a last
// block the NameNode knows no replica of: after a NameNode restart, until
// the DataNodes holding it have reported. Recovering the lease then would
// make the NameNode drop that block as empty ("Removed empty last block"),
// and with it every event flushed into it since the last complete block.
func lastBlockUnplaced(c *hdfs.Client, path string) (bool, error) {
	reqD, respD, err := blockDescriptors()
	if err != nil {
		return false, fmt.Errorf("getBlockLocations: %w", err)
	}
	exec, _, err := namenodeCall(c)
	if err != nil {
		return false, err
	}
	req := dynamicpb.NewMessage(reqD)
	req.Set(reqD.Fields().ByName("src"), protoreflect.ValueOfString(path))
	req.Set(reqD.Fields().ByName("offset"), protoreflect.ValueOfUint64(0))
	req.Set(reqD.Fields().ByName("length"), protoreflect.ValueOfUint64(1<<62))
	resp := dynamicpb.NewMessage(respD)
	out := exec.Call([]reflect.Value{reflect.ValueOf("getBlockLocations"), reflect.ValueOf(proto.Message(req)), reflect.ValueOf(proto.Message(resp))})
	if e, _ := out[0].Interface().(error); e != nil {
		return false, e
	}
	lf := respD.Fields().ByName("locations")
	if !resp.Has(lf) {
		return false, nil
	}
	locs := resp.Get(lf).Message()
	lbD := locs.Descriptor()
	if !locs.Get(lbD.Fields().ByName("underConstruction")).Bool() || locs.Get(lbD.Fields().ByName("isLastBlockComplete")).Bool() {
		return false, nil
	}
	lastF := lbD.Fields().ByName("lastBlock")
	if !locs.Has(lastF) {
		return false, nil
	}
	last := locs.Get(lastF).Message()
	return last.Get(last.Descriptor().Fields().ByName("locs")).List().Len() == 0, nil
}
