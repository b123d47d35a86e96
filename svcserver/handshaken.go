package svcserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
)

// handshakenCreds are the Server's transport credentials: base (TLS, or nil
// for plaintext) for connections accepted by Serve, and none for a
// connection whose TLS handshake is already done — one that svchttp
// accepted on its shared port, decrypted, and found to speak gRPC. For
// those the AuthInfo is the connection's TLS state, as grpc-go's own TLS
// credentials (and grpc.Server.ServeHTTP) report it, so interceptors see the
// peer's certificates whichever way a connection came in.
//
// A connection is taken as handshaken when it has a ConnectionState method
// (as *tls.Conn has) reporting a completed handshake; a *tls.Conn from a
// tls.Listener passed to Serve has not completed its handshake yet, and is
// handshaken by base as before.
type handshakenCreds struct {
	base credentials.TransportCredentials // nil: plaintext
}

type connectionStater interface {
	ConnectionState() tls.ConnectionState
}

func (c handshakenCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if cs, ok := conn.(connectionStater); ok {
		if state := cs.ConnectionState(); state.HandshakeComplete {
			return conn, credentials.TLSInfo{
				State:          state,
				CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
			}, nil
		}
	}
	if c.base == nil {
		return conn, nil, nil // what grpc-go does without credentials
	}
	return c.base.ServerHandshake(conn)
}

func (c handshakenCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("svcserver: server credentials used by a client")
}

func (c handshakenCreds) Info() credentials.ProtocolInfo {
	if c.base == nil {
		return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
	}
	return c.base.Info()
}

func (c handshakenCreds) Clone() credentials.TransportCredentials {
	if c.base == nil {
		return c
	}
	return handshakenCreds{base: c.base.Clone()}
}

// OverrideServerName has no meaning for a server's credentials.
func (c handshakenCreds) OverrideServerName(string) error { return nil }
