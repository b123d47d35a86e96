// This file is user code, compiled into the generated allkinds package by
// TestGoldensCompile: it embeds the skeleton and overrides one method only,
// so it keeps compiling however many methods the service grows.
package allkinds

import (
	"context"

	"google.golang.org/grpc"
)

type userEcho struct {
	EchoSkeleton
}

func (userEcho) Say(_ context.Context, in *EchoRequest) (*EchoResponse, error) {
	return &EchoResponse{Message: in.GetMessage()}, nil
}

// RegisterUserEcho registers the user's partial implementation.
func RegisterUserEcho(s grpc.ServiceRegistrar) {
	RegisterEchoServer(s, userEcho{})
	RegisterOldEchoServer(s, OldEchoSkeleton{})
}
