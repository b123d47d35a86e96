// Command protoc-gen-svc is a protoc / buf plugin that generates, for every
// gRPC service, a server skeleton, a client wrapper with per-method timeouts
// and retries, and in-memory repositories. See the README for its options.
package main

import (
	"fmt"
	"os"

	"github.com/svcgen/protoc-gen-svc/internal/gen"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version", "-version":
			fmt.Println("protoc-gen-svc", gen.Version)
			return
		case "--help", "-help", "-h":
			fmt.Print(gen.Usage())
			return
		}
		fmt.Fprintf(os.Stderr, "protoc-gen-svc: unknown argument %q: this program is run by protoc or buf (see --help)\n", os.Args[1])
		os.Exit(2)
	}
	if err := gen.Run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "protoc-gen-svc:", err)
		os.Exit(1)
	}
}
