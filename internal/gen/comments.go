package gen

import (
	"go/doc/comment"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/compiler/protogen"
)

// docText is a Go doc comment, as "//" lines for a template (without the
// final newline): a first paragraph of ours, wrapped at docWidth, then the
// proto element's own leading comment, then a Deprecated paragraph when the
// element is deprecated.
func docText(first string, comments protogen.Comments, deprecated bool) string {
	return strings.Join(docLines(first, comments, deprecated), "\n")
}

// docLines are the lines of the doc comment docText returns.
func docLines(first string, comments protogen.Comments, deprecated bool) []string {
	lines := wrapDoc(first)
	if c := strings.TrimSpace(string(comments)); c != "" {
		lines = append(lines, "//")
		lines = append(lines, strings.Split(strings.TrimSuffix(goComment(comments), "\n"), "\n")...)
		if mayReformat(comments) {
			lines = stableDocComment(lines, deprecated)
			deprecated = false // in lines now
		}
	}
	if deprecated {
		lines = append(lines, "//", "// Deprecated: Do not use.")
	}
	return lines
}

// docWidth is the width generated prose is wrapped at, "// " included, as
// connect-go wraps its generated comments.
const docWidth = 80

// wrapDoc turns generated prose into comment lines wrapped at docWidth.
// Blank lines separate paragraphs; a line starting with "  - " is a list
// item, wrapped with its continuation lines indented under its text. Other
// line breaks in the text do not matter.
func wrapDoc(text string) []string {
	var lines, words []string
	var line []byte // the line being filled, reused
	flush := func(first, rest string) {
		if len(words) == 0 {
			return
		}
		line = append(line[:0], first...)
		empty := true // no word on the line yet
		for _, w := range words {
			switch {
			case empty:
			case len(line)+1+len(w) > docWidth:
				lines = append(lines, string(line))
				line = append(line[:0], rest...)
			default:
				line = append(line, ' ')
			}
			line = append(line, w...)
			empty = false
		}
		lines = append(lines, string(line))
		words = words[:0]
	}
	for _, raw := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(raw) == "":
			flush("// ", "// ")
			lines = append(lines, "//")
		case strings.HasPrefix(raw, "  - "):
			flush("// ", "// ")
			words = strings.Fields(raw[4:])
			flush("//   - ", "//     ")
		default:
			words = append(words, strings.Fields(raw)...)
		}
	}
	flush("// ", "// ")
	return lines
}

// mayReformat reports whether a proto comment has lines that go/doc/comment
// may read as code blocks, lists, headings or link definitions: indented
// lines and lines that start with a marker.
func mayReformat(comments protogen.Comments) bool {
	for _, line := range strings.Split(string(comments), "\n") {
		line = strings.TrimPrefix(line, " ")
		if line != "" && (strings.ContainsRune(" \t-*+#[0123456789", rune(line[0])) || strings.HasPrefix(line, "•")) {
			return true
		}
	}
	return false
}

// stableDocComment returns doc comment lines ("//" lines, the Deprecated
// paragraph added when deprecated) as gofmt leaves them. go/printer, through
// which protogen writes every file, reformats a doc comment once with
// go/doc/comment; for some mixes of indented lines and list items that is
// not yet what a second gofmt gives, and generated files must be
// gofmt-clean. So the text is formatted until it no longer changes, and
// written the way go/printer writes it. Comments with directives (//go:...),
// which go/printer moves, are left as they are.
func stableDocComment(lines []string, deprecated bool) []string {
	if deprecated {
		lines = append(lines, "//", "// Deprecated: Do not use.")
	}
	var b strings.Builder
	for _, line := range lines {
		after := strings.TrimPrefix(line, "//")
		if isDirective(after) {
			return lines
		}
		b.WriteString(strings.TrimPrefix(after, " "))
		b.WriteByte('\n')
	}
	text := b.String()
	for range 10 {
		var p comment.Parser
		var pr comment.Printer
		next := string(pr.Comment(p.Parse(text)))
		if next == text {
			break
		}
		text = next
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case line == "":
			out = append(out, "//")
		case strings.HasPrefix(line, "\t"):
			out = append(out, "//"+line)
		default:
			out = append(out, "// "+line)
		}
	}
	return out
}

// isDirective is go/printer's: whether a comment's text after "//" is a
// directive such as go:generate, line, extern or export.
func isDirective(c string) bool {
	if strings.HasPrefix(c, "line ") || strings.HasPrefix(c, "extern ") || strings.HasPrefix(c, "export ") {
		return true
	}
	colon := strings.Index(c, ":")
	if colon <= 0 || colon+1 >= len(c) {
		return false
	}
	for i := 0; i <= colon+1; i++ {
		if i == colon {
			continue
		}
		if b := c[i]; !('a' <= b && b <= 'z' || '0' <= b && b <= '9') {
			return false
		}
	}
	return true
}

// goComment is comments.String() ("//" before every line) for text that Go
// accepts in a comment and that gofmt leaves as it is: carriage returns (of a
// .proto file with CRLF line ends) are dropped, as the Go scanner drops them,
// which go/printer would otherwise count in the comment's length and so not
// format it as a doc comment until the second time; NUL bytes, byte order
// marks and invalid UTF-8, which make Go source unparsable, become U+FFFD.
func goComment(comments protogen.Comments) string {
	text := string(comments)
	if strings.ContainsAny(text, "\r\x00\uFEFF") || !utf8.ValidString(text) {
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "")
		text = strings.ToValidUTF8(text, "\uFFFD")
		text = strings.NewReplacer("\x00", "\uFFFD", "\uFEFF", "\uFFFD").Replace(text)
	}
	return protogen.Comments(text).String()
}
