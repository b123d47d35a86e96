package svclro

import (
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// emptyByName caches the stand-ins EmptyMetadata makes for types no linked
// package registers.
var emptyByName sync.Map // protoreflect.FullName → proto.Message

// EmptyMetadata returns an empty message of the type named name, for
// operations whose metadata type (operation_info.metadata_type) is declared
// in a file the method's file does not import, so that its generated code
// cannot name the Go type. A type some linked package registers is made
// from the registry; any other is a message of that name with no fields,
// which packs (its fields unset, as an empty message's are) into exactly
// the Any an empty message of the real type gives: type URL
// "type.googleapis.com/<name>" and no bytes. It panics on a name that is
// not a valid full message name, which generated code never passes.
func EmptyMetadata(name protoreflect.FullName) proto.Message {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(name); err == nil {
		return mt.New().Interface()
	}
	if m, ok := emptyByName.Load(name); ok {
		return proto.Clone(m.(proto.Message))
	}
	md, err := standIn(name)
	if err != nil {
		panic(fmt.Sprintf("svclro.EmptyMetadata(%q): %v", name, err))
	}
	m, _ := emptyByName.LoadOrStore(name, dynamicpb.NewMessage(md))
	return proto.Clone(m.(proto.Message))
}

// standIn declares a message of the given full name with no fields, in a
// file of its own outside every registry.
func standIn(name protoreflect.FullName) (protoreflect.MessageDescriptor, error) {
	if !name.IsValid() {
		return nil, fmt.Errorf("not a full message name")
	}
	pkg, msg := "", string(name)
	if i := strings.LastIndexByte(msg, '.'); i >= 0 {
		pkg, msg = msg[:i], msg[i+1:]
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String("svclro/stand-in/" + string(name) + ".proto"),
		Package:     proto.String(pkg),
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String(msg)}},
	}, new(protoregistry.Files))
	if err != nil {
		return nil, err
	}
	return fd.Messages().Get(0), nil
}
