// Command shopctl manages the products of a shopd server through the client
// wrappers protoc-gen-svc generates: every call has a default deadline, and
// the calls that are safe to retry are retried on UNAVAILABLE, each retry
// reported on stderr.
//
//	shopctl create --id espresso --title "Espresso machine" --price 249 --stock 3
//	shopctl get espresso
//	shopctl list --page-size 10 [--page-token T | --all]
//	shopctl update espresso --price 229.90 [--mask price] [--etag E]
//	shopctl delete espresso [--etag E]
//	shopctl watch [--existing] [--category electronics]
//
// Every command takes --addr (default 127.0.0.1:8443) and --timeout, and,
// for a shopd serving TLS, --tls-ca (the CA of the server's certificate),
// --cert and --key (a client certificate, for mutual TLS) and --token (a
// bearer token; sent only over TLS). Connections ping shopd after 30s
// without activity (--keepalive), so a watch on a frozen shopd fails with
// Unavailable instead of hanging.
// It exits 0 on success, 1 when a call fails (with one line on stderr) and
// 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: shopctl <command> [flags] [args]

commands:
  create   create a product
  get      show a product:             get NAME
  list     list products, a page at a time (--page-size, --page-token, --all)
  update   change fields of a product: update NAME --title T --price 9.99 ...
  delete   delete a product:           delete NAME [--etag E]
  watch    stream changes to products until Ctrl-C

Run "shopctl <command> -h" for the flags of a command.
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // a call failed
	exitUsage = 2
)

// command is one subcommand. flags declares its flags on fs and returns the
// function that runs it with the positional arguments.
type command struct {
	args  string // positional arguments, for the usage line
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *cli, args []string) error
}

var commands = map[string]command{
	"create": {"", createFlags},
	"get":    {"NAME", getFlags},
	"list":   {"", listFlags},
	"update": {"NAME", updateFlags},
	"delete": {"NAME", deleteFlags},
	"watch":  {"", watchFlags},
}

// cli is what a command uses: the catalog wrapper and where to write.
type cli struct {
	catalog *shopv1.CatalogWrapper
	timeout time.Duration
	stdout  io.Writer
	stderr  io.Writer
}

// callOpts are the per-call options of every call: --timeout, when given,
// replaces the method's default deadline.
func (c *cli) callOpts() []grpc.CallOption {
	if c.timeout > 0 {
		return []grpc.CallOption{svcclient.CallTimeout(c.timeout)}
	}
	return nil
}

// usageError is a mistake on the command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	name := args[0]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "shopctl: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	fs := flag.NewFlagSet("shopctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8443", "shopd `address`")
	timeout := fs.Duration("timeout", 0, "deadline of each call (default: the method's, from the schema)")
	tlsCA := fs.String("tls-ca", "", "PEM `file` with the CA of shopd's certificate; turns TLS on")
	cert := fs.String("cert", "", "PEM `file` with a client certificate, for mutual TLS")
	key := fs.String("key", "", "PEM `file` with the client certificate's key")
	token := fs.String("token", "", "bearer `token` sent with every call (needs TLS)")
	keepaliveEvery := fs.Duration("keepalive", svcprod.DefaultClientKeepalive.Time, "ping shopd after this long without activity (at least 10s); a watch on a frozen shopd fails after the ping goes unanswered for a third of it (at most 10s)")
	runCmd := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: shopctl %s [flags] %s\n", name, cmd.args)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage // the flag package has printed the error and usage
	}

	ka := svcprod.DefaultClientKeepalive
	if *keepaliveEvery != ka.Time {
		ka.Time, ka.Timeout = *keepaliveEvery, min(*keepaliveEvery/3, 10*time.Second)
	}
	dialOpts, err := svcprod.DialOptions(svcprod.ClientConfig{CAFile: *tlsCA, CertFile: *cert, KeyFile: *key, Token: *token, Keepalive: ka})
	if err != nil {
		fmt.Fprintf(stderr, "shopctl: %v\n", err)
		return exitUsage
	}
	conn, err := grpc.NewClient(*addr, dialOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "shopctl: %v\n", err)
		return exitUsage
	}
	defer conn.Close()
	c := &cli{
		catalog: shopv1.NewCatalogWrapper(conn, svcclient.WithHook(func(e svcclient.RetryEvent) {
			fmt.Fprintf(stderr, "shopctl: %s attempt %d failed with %s; retrying in %v\n",
				shortMethod(e.FullMethod), e.Attempt, status.Code(e.Err), e.Delay.Round(time.Millisecond))
		})),
		timeout: *timeout,
		stdout:  stdout,
		stderr:  stderr,
	}
	err = runCmd(ctx, c, pos)
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "shopctl %s: %v\n", name, err)
		fs.Usage()
		return exitUsage
	default:
		fmt.Fprintf(stderr, "shopctl %s: %s\n", name, describe(err))
		return exitError
	}
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("get NAME --addr A" as well as "get --addr A NAME"), which the
// flag package alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// describe renders an error as one line: the gRPC code and message for a
// status error, and how many attempts the wrapper made when it retried.
func describe(err error) string {
	if s, ok := status.FromError(err); ok {
		line := s.Code().String() + ": " + s.Message()
		if ae := (*svcclient.AttemptsError)(nil); errors.As(err, &ae) && ae.Attempts > 1 {
			line += fmt.Sprintf(" (%d attempts)", ae.Attempts)
		}
		return line
	}
	return err.Error()
}

// shortMethod turns "/shop.v1.Catalog/GetProduct" into "GetProduct".
func shortMethod(full string) string {
	return full[strings.LastIndexByte(full, '/')+1:]
}
