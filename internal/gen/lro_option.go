package gen

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// operationInfoField is the number of the extension
// (google.longrunning.operation_info) of google.protobuf.MethodOptions.
const operationInfoField = 1049

// operationInfoType is google.longrunning.OperationInfo, described here
// rather than imported: its Go package
// (cloud.google.com/go/longrunning/autogen/longrunningpb) also holds the
// Operations service's gRPC stubs, and linking grpc into the plugin cost it
// 7 MB of memory and its start-up for one message of two strings. The
// descriptor is in no registry.
var operationInfoType = func() protoreflect.MessageDescriptor {
	str := func(name, json string, number int32) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(name),
			JsonName: proto.String(json),
			Number:   proto.Int32(number),
			Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
		}
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("google/longrunning/operations.proto"),
		Package: proto.String("google.longrunning"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:  proto.String("OperationInfo"),
			Field: []*descriptorpb.FieldDescriptorProto{str("response_type", "responseType", 1), str("metadata_type", "metadataType", 2)},
		}},
	}, nil)
	if err != nil {
		panic(err)
	}
	return fd.Messages().Get(0)
}()

// operationInfo is the (google.longrunning.operation_info) of a method.
type operationInfo struct {
	responseType, metadataType string
}

func (o *operationInfo) GetResponseType() string { return o.responseType }
func (o *operationInfo) GetMetadataType() string { return o.metadataType }

// readOperationInfoOption reads the (google.longrunning.operation_info) of
// a method's options, as extension would with the extension's Go type: nil
// when the options do not have it, its fields merged when it occurs more
// than once, the decoding error of a malformed one. The options are
// encoded again, so the option is found whether it was read as an
// extension (a program that links one) or kept as an unknown field.
func readOperationInfoOption(opts proto.Message) (*operationInfo, error) {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil, nil
	}
	b, err := proto.Marshal(opts)
	if err != nil {
		return nil, err
	}
	var msg *dynamicpb.Message
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num == operationInfoField && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
			if msg == nil {
				msg = dynamicpb.NewMessage(operationInfoType)
			}
			if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, msg); err != nil {
				return nil, err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if msg == nil {
		return nil, nil
	}
	fields := operationInfoType.Fields()
	return &operationInfo{
		responseType: msg.Get(fields.ByName("response_type")).String(),
		metadataType: msg.Get(fields.ByName("metadata_type")).String(),
	}, nil
}
