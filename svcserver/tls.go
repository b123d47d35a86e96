package svcserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// LoadServerTLS returns the TLS configuration of a server from PEM files: its
// certificate chain and private key and, when clientCAFile is not empty, the
// certificate authorities that sign client certificates. With a client CA,
// every client must present a certificate signed by it (mutual TLS); without
// one, clients are not asked for certificates. TLS 1.2 is the minimum.
//
// The files are read once: to rotate certificates, restart the server (or
// build a tls.Config with GetCertificate and pass it to WithTLS).
func LoadServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("svcserver: loading the server certificate: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if clientCAFile != "" {
		pool, err := LoadCertPool(clientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// LoadCertPool reads PEM certificates (certificate authorities) from file.
func LoadCertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("svcserver: reading certificate authorities: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("svcserver: " + file + ": no PEM certificate found")
	}
	return pool, nil
}
