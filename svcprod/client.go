package svcprod

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// DefaultClientKeepalive pings the server after 30s without activity and
// gives up on the connection when no answer comes within 10s: a call (a
// watch, say) on a server that froze or vanished fails with
// codes.Unavailable within ~40s instead of waiting for its deadline, or
// forever. It fits svcserver.DefaultKeepaliveEnforcement (pings at most
// every 10s); a server with grpc-go's default enforcement (5 minutes) would
// disconnect such a client with "too_many_pings".
var DefaultClientKeepalive = keepalive.ClientParameters{
	Time:    30 * time.Second,
	Timeout: 10 * time.Second,
}

// ClientConfig says how a client connects to a server. The zero value is a
// plaintext connection with DefaultClientKeepalive.
type ClientConfig struct {
	// CAFile holds the PEM certificate authorities that sign the server's
	// certificate. Setting it turns TLS on. Empty with TLS on means the
	// system's roots.
	CAFile string
	// TLS turns TLS on with the system's roots when CAFile is empty.
	TLS bool
	// ServerName overrides the name checked against the server's
	// certificate (default: the host of the dialled address).
	ServerName string
	// CertFile and KeyFile are the client's own certificate and key, for
	// servers that require mutual TLS. They need TLS on.
	CertFile, KeyFile string
	// Token is sent as "authorization: Bearer <Token>" with every call.
	// Over plaintext it is sent only with AllowTokenWithoutTLS.
	Token string
	// AllowTokenWithoutTLS sends Token over plaintext connections, for
	// local development: anyone on the path can read it.
	AllowTokenWithoutTLS bool
	// Keepalive replaces DefaultClientKeepalive when its Time is not zero.
	Keepalive keepalive.ClientParameters
	// Telemetry adds ClientTelemetry's stats handler.
	Telemetry bool
}

// DialOptions returns the grpc.NewClient options for cfg: transport
// credentials (TLS, mutual TLS or plaintext), per-call bearer credentials,
// keepalive and, if asked, telemetry.
func DialOptions(cfg ClientConfig) ([]grpc.DialOption, error) {
	useTLS := cfg.TLS || cfg.CAFile != ""
	var opts []grpc.DialOption
	if useTLS {
		tc, err := ClientTLS(cfg.CAFile, cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.ServerName = cfg.ServerName
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	} else {
		if cfg.CertFile != "" || cfg.KeyFile != "" {
			return nil, errors.New("svcprod: a client certificate needs TLS (a CA file or TLS on)")
		}
		if cfg.Token != "" && !cfg.AllowTokenWithoutTLS {
			return nil, errors.New("svcprod: a bearer token over plaintext would be readable by anyone on the path; use TLS (or AllowTokenWithoutTLS for local development)")
		}
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if cfg.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(BearerToken(cfg.Token, useTLS)))
	}
	ka := cfg.Keepalive
	if ka.Time == 0 {
		ka = DefaultClientKeepalive
	}
	opts = append(opts, grpc.WithKeepaliveParams(ka))
	if cfg.Telemetry {
		opts = append(opts, ClientTelemetry()...)
	}
	return opts, nil
}

// ClientTLS returns a client TLS configuration: caFile's authorities (the
// system's when empty) verify the server; certFile and keyFile, when given,
// are the client's certificate for mutual TLS. TLS 1.2 is the minimum.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := svcserver.LoadCertPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("svcprod: loading the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// BearerToken returns per-call credentials that send
// "authorization: Bearer <token>". With requireTLS, grpc refuses to send
// them over a connection without transport security.
func BearerToken(token string, requireTLS bool) credentials.PerRPCCredentials {
	return bearer{header: map[string]string{"authorization": "Bearer " + token}, tls: requireTLS}
}

type bearer struct {
	header map[string]string
	tls    bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return b.header, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.tls }
