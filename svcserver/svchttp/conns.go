package svchttp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soheilhy/cmux"
	"golang.org/x/net/http2"
)

// router splits the connections of the shared port between grpc-go's own
// transport and net/http, by what each connection's first request is:
//
//   - HTTP/2 (cleartext with prior knowledge, or TLS with ALPN "h2") whose
//     first request has content-type application/grpc: to grpc.Server.Serve,
//     grpc-go's HTTP/2 transport, for the connection's lifetime;
//   - everything else (HTTP/1.1, and HTTP/2 whose first request is gRPC-Web,
//     Connect, REST, the page, or gRPC in another codec): to net/http and
//     vanguard, also for the connection's lifetime.
//
// cmux reads the first request's headers (buffering what it reads, so the
// chosen server reads the connection from its first byte). Clients that
// wait for the server's SETTINGS before they send a request (grpc-go's
// among them) get them from cmux's matcher; net/http's HTTP/2 server then
// sees an acknowledgement of SETTINGS it never sent, and would hang up, so
// the connections it gets drop the acknowledgements of cmux's SETTINGS
// (ackFilter). grpc-go ignores them.
type router struct {
	lis     net.Listener
	tls     *tls.Config   // nil: cleartext
	timeout time.Duration // for the TLS handshake and the first request's headers; 0: none
	logger  *slog.Logger

	mux  cmux.CMux
	root *connListener // TLS: handshaken h2 connections, for cmux
	grpc net.Listener  // for grpc.Server.Serve
	http *connListener // for http.Server.Serve

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the router's goroutines

	mu       sync.Mutex
	closed   bool
	sniffing map[*sniffedConn]struct{} // accepted, not yet given to a server
}

func newRouter(lis net.Listener, tlsConfig *tls.Config, timeout time.Duration, logger *slog.Logger) *router {
	r := &router{
		lis:      lis,
		timeout:  timeout,
		logger:   logger,
		http:     newConnListener(lis.Addr()),
		sniffing: make(map[*sniffedConn]struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	var root net.Listener = &trackingListener{Listener: lis, r: r}
	if tlsConfig != nil {
		r.tls = tlsConfig.Clone()
		// As net/http's ServeTLS does: offer h2 and HTTP/1.1 unless the
		// configuration names them.
		if !slices.Contains(r.tls.NextProtos, http2.NextProtoTLS) {
			r.tls.NextProtos = append([]string{http2.NextProtoTLS}, r.tls.NextProtos...)
		}
		if !slices.Contains(r.tls.NextProtos, "http/1.1") {
			r.tls.NextProtos = append(r.tls.NextProtos, "http/1.1")
		}
		r.root = newConnListener(lis.Addr())
		root = r.root
	}
	r.mux = cmux.New(root)
	if timeout > 0 {
		r.mux.SetReadTimeout(timeout)
	}
	r.grpc = grpcListener{r: r, Listener: r.mux.MatchWithWriters(cmux.HTTP2MatchHeaderFieldSendSettings("content-type", "application/grpc"))}
	h2 := r.mux.Match(cmux.HTTP2())
	other := r.mux.Match(cmux.Any())
	r.wg.Add(2)
	go r.forward(h2)
	go r.forward(other)
	return r
}

// serve routes connections until the listener fails or close is called; it
// returns the listener's error, or nil after close.
func (r *router) serve() error {
	muxDone := make(chan error, 1)
	go func() { muxDone <- r.mux.Serve() }()
	var err error
	if r.tls != nil {
		err = r.acceptTLS()
		r.root.Close()
		<-muxDone
	} else {
		err = <-muxDone
	}
	if r.isClosed() {
		return nil
	}
	return err
}

// close stops accepting connections and closes those whose first request
// has not come yet; the connections given to a server are the server's to
// close. It waits for the router's goroutines.
func (r *router) close() {
	r.mu.Lock()
	r.closed = true
	sniffing := r.sniffing
	r.sniffing = nil
	r.mu.Unlock()
	r.cancel()
	r.lis.Close()
	if r.root != nil {
		r.root.Close()
	}
	r.mux.Close()
	for c := range sniffing {
		c.Close()
	}
	r.wg.Wait()
}

func (r *router) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// track registers a connection that cmux is about to read; ok is false
// after close.
func (r *router) track(c net.Conn, tlsConn *tls.Conn) (*sniffedConn, bool) {
	sc := &sniffedConn{Conn: c, tls: tlsConn}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false
	}
	r.sniffing[sc] = struct{}{}
	return sc, true
}

// routed takes a connection cmux has matched out of the sniffing set.
func (r *router) routed(c net.Conn) *sniffedConn {
	mc, ok := c.(*cmux.MuxConn)
	if !ok {
		return nil
	}
	sc, ok := mc.Conn.(*sniffedConn)
	if !ok {
		return nil
	}
	r.mu.Lock()
	delete(r.sniffing, sc)
	r.mu.Unlock()
	return sc
}

// forward gives net/http the connections of a cmux listener.
func (r *router) forward(l net.Listener) {
	defer r.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		sc := r.routed(c)
		if sc == nil {
			r.http.push(c)
			continue
		}
		var conn net.Conn = c
		if n := sc.settingsWritten.Load(); n > 0 {
			conn = &ackFilter{Conn: c, preface: len(http2.ClientPreface), drop: int(n)}
		}
		if sc.tls != nil {
			state := sc.tls.ConnectionState()
			conn = &tlsRoutedConn{Conn: conn, state: &state}
		}
		r.http.push(conn)
	}
}

// acceptTLS accepts connections and handshakes each in its own goroutine:
// those that chose HTTP/2 go on to cmux, the others to net/http as they
// are (a *tls.Conn, which net/http serves as HTTP/1.1 over TLS).
func (r *router) acceptTLS() error {
	var delay time.Duration
	for {
		c, err := r.lis.Accept()
		if err != nil {
			// As net/http and grpc-go do: wait and retry on a temporary
			// error (too many open files, ...).
			if ne, ok := err.(interface{ Temporary() bool }); ok && ne.Temporary() && !r.isClosed() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		r.wg.Add(1)
		go r.handshake(c)
	}
}

func (r *router) handshake(raw net.Conn) {
	defer r.wg.Done()
	tc := tls.Server(raw, r.tls)
	ctx := r.ctx
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		// As net/http does: a client speaking plain HTTP gets a 400.
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			err = errors.New("client sent an HTTP request to an HTTPS server")
		}
		if !r.isClosed() {
			r.logger.Warn("tls handshake failed", slog.String("remote", raw.RemoteAddr().String()), slog.String("error", err.Error()))
		}
		raw.Close()
		return
	}
	state := tc.ConnectionState()
	if state.NegotiatedProtocol != http2.NextProtoTLS {
		r.http.push(tc)
		return
	}
	if state.Version < tls.VersionTLS12 { // RFC 9113, 9.2
		r.logger.Warn("tls handshake failed", slog.String("remote", raw.RemoteAddr().String()), slog.String("error", "HTTP/2 over TLS older than 1.2"))
		tc.Close()
		return
	}
	sc, ok := r.track(tc, tc)
	if !ok {
		tc.Close()
		return
	}
	r.root.push(sc)
}

// looksLikeHTTP reports a TLS record header that is the start of an
// HTTP/1.x request (net/http's test).
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// trackingListener is the cleartext root of cmux: it registers each
// connection before cmux reads it.
type trackingListener struct {
	net.Listener
	r *router
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if sc, ok := l.r.track(c, nil); ok {
			return sc, nil
		}
		c.Close()
	}
}

// sniffedConn is a connection as cmux sees it. It counts the writes made
// before the connection is given to a server: those are cmux's SETTINGS
// frames, one per write.
type sniffedConn struct {
	net.Conn
	tls             *tls.Conn // nil: cleartext
	settingsWritten atomic.Int32
}

func (c *sniffedConn) Write(p []byte) (int, error) {
	c.settingsWritten.Add(1)
	return c.Conn.Write(p)
}

// grpcListener gives grpc.Server.Serve the connections whose first request
// is gRPC. A TLS connection carries its ConnectionState, from which
// svcserver's credentials take the peer's certificates instead of
// handshaking again.
type grpcListener struct {
	net.Listener // cmux's
	r            *router
}

func (l grpcListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if sc := l.r.routed(c); sc != nil && sc.tls != nil {
		return &tlsGRPCConn{Conn: c, tls: sc.tls}, nil
	}
	return c, nil
}

type tlsGRPCConn struct {
	net.Conn
	tls *tls.Conn
}

func (c *tlsGRPCConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// tlsRoutedConn is a decrypted HTTP/2 connection given to net/http. It has
// no ConnectionState method, so that net/http serves it as HTTP/2 on an
// already secured connection (its "unencrypted HTTP/2", which a *tls.Conn
// cannot take once read from); the handler gets the TLS state back through
// the connection's context (connContext, withTLSState).
type tlsRoutedConn struct {
	net.Conn
	state *tls.ConnectionState
}

type tlsStateKey struct{}

// connContext is the http.Server's ConnContext.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tlsRoutedConn); ok {
		return context.WithValue(ctx, tlsStateKey{}, tc.state)
	}
	return ctx
}

// ackFilter drops the acknowledgements of the SETTINGS that cmux sent from
// what a client sends, before net/http's HTTP/2 server reads it. Frames are
// found by their 9-byte headers (RFC 9113, 4.1); everything else passes
// unchanged.
type ackFilter struct {
	net.Conn
	preface int     // preface bytes still to pass on
	drop    int     // acknowledgements still to drop
	hdr     [9]byte // a frame header
	in, out int     // bytes of hdr read, passed on
	pending int     // payload bytes of the current frame still to pass on
}

func (c *ackFilter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		switch {
		case c.preface > 0:
			n, err := c.Conn.Read(p[:min(len(p), c.preface)])
			c.preface -= n
			return n, err
		case c.in == len(c.hdr): // a whole header, to pass on
			n := copy(p, c.hdr[c.out:])
			c.out += n
			if c.out == len(c.hdr) {
				c.in, c.out = 0, 0
			}
			return n, nil
		case c.pending > 0:
			n, err := c.Conn.Read(p[:min(len(p), c.pending)])
			c.pending -= n
			return n, err
		case c.drop > 0:
			n, err := c.Conn.Read(c.hdr[c.in:])
			c.in += n
			if c.in < len(c.hdr) {
				if err != nil {
					return 0, err
				}
				continue
			}
			length := int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
			if http2.FrameType(c.hdr[3]) == http2.FrameSettings && http2.Flags(c.hdr[4]).Has(http2.FlagSettingsAck) && length == 0 {
				c.drop--
				c.in = 0
			} else {
				c.pending = length // after the header
			}
			if err != nil {
				return 0, err
			}
		default:
			return c.Conn.Read(p)
		}
	}
}

// connListener is a net.Listener fed by the router.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the listener's Accept, or closes it once the listener is
// closed.
func (l *connListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
