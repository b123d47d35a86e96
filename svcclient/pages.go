package svcclient

import (
	"context"
	"iter"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Pages runs a paginated List method (AIP-158) page after page and yields
// the items of every page: generated wrappers offer it as ListXsAll. call
// is the wrapper's own List method, so every page is one call with the
// method's default deadline and retries, while ctx bounds the whole
// iteration. The first request is a copy of in (in is never modified), from
// its page token on; setToken sets the next page's token in that copy, and
// page returns a response's items and next page token. An empty next token
// ends the sequence. A failed page yields (nil-ish item, err) once and ends
// it; so does a server that answers a page with the token it was asked for,
// which would loop forever (codes.Internal). Breaking out of the loop stops
// asking for pages.
func Pages[Req proto.Message, Resp any, Item any](ctx context.Context, in Req, opts []grpc.CallOption,
	call func(context.Context, Req, ...grpc.CallOption) (Resp, error),
	setToken func(Req, string), page func(Resp) ([]Item, string)) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var zero Item
		req := proto.Clone(in).(Req)
		token := ""
		for first := true; ; first = false {
			if !first {
				setToken(req, token)
			}
			resp, err := call(ctx, req, opts...)
			if err != nil {
				yield(zero, err)
				return
			}
			items, next := page(resp)
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if !first && next == token {
				yield(zero, status.Errorf(codes.Internal, "svcclient: the server answered the page token %q with the same token; stopping", token))
				return
			}
			token = next
		}
	}
}
