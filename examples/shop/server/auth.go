package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
)

// A Token is a bearer token shopd accepts.
type Token struct {
	// Secret is what the client sends: "authorization: Bearer <Secret>".
	Secret string
	// ReadOnly tokens may call only methods whose schema says
	// idempotency_level = NO_SIDE_EFFECTS; others get PermissionDenied.
	ReadOnly bool
}

// LoadTokens reads the tokens file of shopd --auth-token-file: one token per
// line, optionally followed by the word "readonly"; blank lines and lines
// starting with "#" are ignored. A file without tokens is an error: it
// would lock everyone out.
func LoadTokens(file string) ([]Token, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var tokens []Token
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch {
		case len(fields) == 1:
			tokens = append(tokens, Token{Secret: fields[0]})
		case len(fields) == 2 && fields[1] == "readonly":
			tokens = append(tokens, Token{Secret: fields[0], ReadOnly: true})
		default:
			return nil, fmt.Errorf("%s:%d: want a token, optionally followed by \"readonly\"", file, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, errors.New(file + ": no tokens")
	}
	return tokens, nil
}

type callerKey struct{}

// Caller returns the token that authenticated the call of ctx (nil for
// public methods and servers without authentication).
func Caller(ctx context.Context) *Token {
	t, _ := ctx.Value(callerKey{}).(*Token)
	return t
}

// TokenAuth returns the svcprod.AuthFunc of bearer tokens: no or a malformed
// "authorization" header, or an unknown token, is Unauthenticated (the
// caller is not known); a read-only token calling a method with side
// effects is PermissionDenied (the caller is known, and not allowed).
// Tokens are compared in constant time.
func TokenAuth(tokens []Token) svcprod.AuthFunc {
	type entry struct {
		sum   [32]byte
		token *Token
	}
	entries := make([]entry, len(tokens))
	for i := range tokens {
		entries[i] = entry{sha256.Sum256([]byte(tokens[i].Secret)), &tokens[i]}
	}
	return func(ctx context.Context, fullMethod string) (context.Context, error) {
		secret, err := auth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(secret))
		var found *Token
		for _, e := range entries {
			if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
				found = e.token
			}
		}
		if found == nil {
			return nil, status.Error(codes.Unauthenticated, "unknown bearer token")
		}
		if found.ReadOnly && !readOnly(fullMethod) {
			return nil, status.Errorf(codes.PermissionDenied, "a read-only token may not call %s", fullMethod)
		}
		return context.WithValue(ctx, callerKey{}, found), nil
	}
}

// readOnly reports whether the schema declares fullMethod free of side
// effects (idempotency_level = NO_SIDE_EFFECTS), as the policy table the
// generated code registers says.
func readOnly(fullMethod string) bool {
	row, ok := svcclient.RegisteredPolicy(fullMethod)
	return ok && row.Idempotency == svcclient.NoSideEffects
}
