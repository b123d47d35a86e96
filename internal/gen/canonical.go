package gen

import (
	"go/build/constraint"
	"go/doc/comment"
	"strings"
	"unicode"
)

// The client wrapper and the repository files are written as go/printer
// prints them (tabs, alignment, line breaks, one blank line between
// declarations), so that they need not be parsed and printed again: that
// was half of the plugin's work, and the two are most of its output. Only
// their header, package clause and imports go through protogen's
// GeneratedFile.Content, which then formats a few lines; the declarations
// are appended as they are, after formatDocComments gives their doc
// comments go/printer's form. TestConcurrentFormattingMatchesProtogen
// checks the result against protogen's own formatting of the whole file.

// content is the formatted content of the generated file f.
func (f generatedFile) content() ([]byte, error) {
	head, err := f.g.Content()
	if err != nil || f.body == nil {
		return head, err
	}
	out := make([]byte, 0, len(head)+len(f.body))
	return append(append(out, head...), f.body...), nil
}

// formatDocComments returns body, declarations as a template writes them,
// as go/printer prints them: each doc comment (a group of "//" lines at the
// start of a line, right above a declaration) formatted as go/printer's
// formatDocComment does, blanks at the ends of lines removed, runs of blank
// lines made one, and body starting and ending with one newline.
func formatDocComments(body []byte) []byte {
	lines := strings.Split(string(body), "\n")
	out := make([]byte, 0, len(body)+64)
	out = append(out, '\n')
	blank := true // the last line written is blank
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "//") {
			j := i
			for j < len(lines) && strings.HasPrefix(lines[j], "//") {
				j++
			}
			group := lines[i:j]
			if j < len(lines) && startsDeclaration(lines[j]) {
				group = formatDocComment(group)
			}
			for _, c := range group {
				// go/printer's trimRight of a "//" comment.
				out = append(append(out, strings.TrimRightFunc(c, unicode.IsSpace)...), '\n')
			}
			blank = false
			i = j - 1
			continue
		}
		line = strings.TrimRight(line, " \t")
		if line == "" {
			if !blank {
				out = append(out, '\n')
			}
			blank = true
			continue
		}
		out = append(append(out, line...), '\n')
		blank = false
	}
	if blank && len(out) > 1 {
		out = out[:len(out)-1]
	}
	return out
}

// needsPrinter reports whether body holds a comment that go/printer does
// more with than formatDocComments: a build constraint ("//go:build",
// "// +build"), which go/printer moves to the top of the file, or a line
// directive ("//line"), which changes the positions it lays the code out
// by. Proto comments can hold such lines; such a file is formatted whole.
func needsPrinter(body []byte) bool {
	for line := range strings.SplitSeq(string(body), "\n") {
		line = strings.TrimLeft(line, " \t")
		if strings.HasPrefix(line, "//") && (constraint.IsGoBuild(line) || constraint.IsPlusBuild(line) || strings.HasPrefix(line, "//line ")) {
			return true
		}
	}
	return false
}

// startsDeclaration reports whether line begins a declaration at the start
// of the line, which a comment right above documents.
func startsDeclaration(line string) bool {
	return line != "" && line[0] != ' ' && line[0] != '\t' && line[0] != '/' && line[0] != '}' && line[0] != ')'
}

// formatDocComment is go/printer's formatDocComment (go/printer/comment.go,
// Go's BSD license) for a doc comment of "//" lines: the text parsed and
// printed by go/doc/comment, directives moved to the end.
func formatDocComment(list []string) []string {
	var b strings.Builder
	var directives []string
	for _, c := range list {
		after := c[2:]
		if isDirective(after) {
			directives = append(directives, c)
			continue
		}
		b.WriteString(strings.TrimPrefix(after, " "))
		b.WriteString("\n")
	}
	text := b.String()
	if text == "" {
		return list
	}
	var p comment.Parser
	var pr comment.Printer
	text = string(pr.Comment(p.Parse(text)))
	var out []string
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		switch {
		case line == "":
			line = "//"
		case strings.HasPrefix(line, "\t"):
			line = "//" + line
		default:
			line = "// " + line
		}
		out = append(out, line)
	}
	if len(directives) > 0 {
		out = append(out, "//")
		out = append(out, directives...)
	}
	return out
}
