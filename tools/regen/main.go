// Command regen regenerates every checked-in generated Go file of this
// repository, as `buf generate` does with the repository's buf.yaml and
// buf.gen.yaml, without building buf (which takes minutes on a fresh
// machine): it compiles the protos in process with protocompile and runs
// the plugins buf.gen.yaml lists, each once on one request.
//
//	go -C tools run ./regen
//
// It reads the two files for what it needs (the modules' paths, the input
// directories, each plugin's local command, out directory and options) and
// fails on any other setting, so the two ways to generate cannot drift
// apart unnoticed; CI regenerates with it and fails on any difference.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// bufYAML is the part of buf.yaml (v2) regen understands.
type bufYAML struct {
	Version string `yaml:"version"`
	Modules []struct {
		Path string `yaml:"path"`
	} `yaml:"modules"`
}

// bufGenYAML is the part of buf.gen.yaml (v2) regen understands.
type bufGenYAML struct {
	Version string `yaml:"version"`
	Inputs  []struct {
		Directory string `yaml:"directory"`
	} `yaml:"inputs"`
	Plugins []struct {
		Local []string  `yaml:"local"`
		Out   string    `yaml:"out"`
		Opt   yaml.Node `yaml:"opt"`
	} `yaml:"plugins"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "regen:", err)
		os.Exit(1)
	}
}

func run() error {
	// The repository root is the parent of tools/, where `go -C tools` runs.
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	var mod bufYAML
	var gen bufGenYAML
	if err := readYAML("buf.yaml", &mod); err != nil {
		return err
	}
	if err := readYAML("buf.gen.yaml", &gen); err != nil {
		return err
	}
	if mod.Version != "v2" || gen.Version != "v2" {
		return errors.New("buf.yaml and buf.gen.yaml must be version v2")
	}
	var importPaths []string
	for _, m := range mod.Modules {
		importPaths = append(importPaths, m.Path)
	}
	var files []string
	for _, in := range gen.Inputs {
		if in.Directory == "" {
			return errors.New("buf.gen.yaml: only directory inputs are supported")
		}
		found, err := protoFiles(in.Directory)
		if err != nil {
			return err
		}
		files = append(files, found...)
	}
	protoFile, err := compile(importPaths, files)
	if err != nil {
		return err
	}
	for _, p := range gen.Plugins {
		if len(p.Local) == 0 || p.Out == "" {
			return errors.New("buf.gen.yaml: every plugin needs local and out")
		}
		opt, err := options(p.Opt)
		if err != nil {
			return err
		}
		req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files, ProtoFile: protoFile}
		if opt != "" {
			req.Parameter = proto.String(opt)
		}
		if err := runPlugin(p.Local, p.Out, req); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(p.Local, " "), err)
		}
	}
	return nil
}

func readYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a setting regen does not implement is an error
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// options joins a plugin's opt, a string or a list of strings, with commas.
func options(n yaml.Node) (string, error) {
	switch n.Kind {
	case 0:
		return "", nil
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		var parts []string
		for _, c := range n.Content {
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("buf.gen.yaml: opt must be a string or a list of strings")
}

// protoFiles lists the .proto files under dir, relative to dir, sorted.
func protoFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	sort.Strings(files)
	return files, err
}

// compile compiles files with source info (comments) and returns them with
// everything they import, dependencies first, as buf and protoc send them.
func compile(importPaths, files []string) ([]*descriptorpb.FileDescriptorProto, error) {
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: importPaths}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	compiled, err := c.Compile(context.Background(), files...)
	if err != nil {
		return nil, err
	}
	var ordered []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		ordered = append(ordered, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range compiled {
		visit(fd)
	}
	return ordered, nil
}

// runPlugin runs a plugin command on req and writes the files of its
// response under out.
func runPlugin(command []string, out string, req *pluginpb.CodeGeneratorRequest) error {
	in, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	if err != nil {
		return err
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(stdout, resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return errors.New(resp.GetError())
	}
	for _, f := range resp.File {
		if f.GetInsertionPoint() != "" {
			return fmt.Errorf("%s: insertion points are not supported", f.GetName())
		}
		path := filepath.Join(out, filepath.FromSlash(f.GetName()))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
