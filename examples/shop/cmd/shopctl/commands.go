package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
)

func createFlags(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
	id := fs.String("id", "", "the product's `name`; the server picks one when empty")
	var pf productFlags
	pf.declare(fs)
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 0 {
			return usagef("unexpected arguments %q", args)
		}
		p, _, err := pf.product(fs)
		if err != nil {
			return err
		}
		created, err := c.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{Product: p, ProductId: *id}, c.callOpts()...)
		if err != nil {
			return err
		}
		printProduct(c.stdout, created)
		return nil
	}
}

func getFlags(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 1 {
			return usagef("want one product name, got %d arguments", len(args))
		}
		p, err := c.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: args[0]}, c.callOpts()...)
		if err != nil {
			return err
		}
		printProduct(c.stdout, p)
		return nil
	}
}

func listFlags(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
	pageSize := fs.Int("page-size", 0, "products per page (0: the server's default, 50)")
	pageToken := fs.String("page-token", "", "the `token` of the page to list, printed after the previous page")
	all := fs.Bool("all", false, "list every page")
	filter := fs.String("filter", "", "an AIP-160 `expression`, e.g. 'category = BOOKS AND price.minor_units < 5000'")
	orderBy := fs.String("order-by", "", "an AIP-132 `ordering`: name, price.minor_units, category, update_time (each optionally \" desc\")")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 0 {
			return usagef("unexpected arguments %q", args)
		}
		if *pageSize < 0 {
			return usagef("--page-size must not be negative")
		}
		var products []*shopv1.Product
		token := *pageToken
		for {
			req := &shopv1.ListProductsRequest{PageSize: int32(*pageSize), PageToken: token, Filter: *filter, OrderBy: *orderBy}
			resp, err := c.catalog.ListProducts(ctx, req, c.callOpts()...)
			if err != nil {
				return err
			}
			products = append(products, resp.GetProducts()...)
			token = resp.GetNextPageToken()
			if !*all || token == "" {
				break
			}
		}
		printProducts(c.stdout, products)
		if token != "" {
			more := fmt.Sprintf("shopctl list --page-size %d --page-token %s", *pageSize, token)
			if *filter != "" {
				more += " --filter " + shellQuote(*filter)
			}
			if *orderBy != "" {
				more += " --order-by " + shellQuote(*orderBy)
			}
			fmt.Fprintf(c.stdout, "\nmore: %s\n", more)
		}
		return nil
	}
}

func updateFlags(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
	mask := fs.String("mask", "", "comma-separated `fields` to update (default: the fields given as flags); a field in the mask but not given is cleared")
	etag := fs.String("etag", "", "update only if the product's etag is still this one (from get)")
	var pf productFlags
	pf.declare(fs)
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 1 {
			return usagef("want one product name, got %d arguments", len(args))
		}
		p, paths, err := pf.product(fs)
		if err != nil {
			return err
		}
		if *mask != "" {
			paths = strings.Split(*mask, ",")
		}
		if len(paths) == 0 {
			return usagef("nothing to update: give the fields to change as flags, or --mask")
		}
		p.Name, p.Etag = args[0], *etag
		updated, err := c.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{
			Product:    p,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		}, c.callOpts()...)
		if err != nil {
			return err
		}
		printProduct(c.stdout, updated)
		return nil
	}
}

func deleteFlags(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
	etag := fs.String("etag", "", "delete only if the product's etag is still this one (from get)")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 1 {
			return usagef("want one product name, got %d arguments", len(args))
		}
		if _, err := c.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: args[0], Etag: *etag}, c.callOpts()...); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "deleted %s\n", args[0])
		return nil
	}
}

func watchFlags(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
	existing := fs.Bool("existing", false, "first list the existing products")
	var categories listFlag
	fs.Var(&categories, "category", "only products of this `category` (repeatable)")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 0 {
			return usagef("unexpected arguments %q", args)
		}
		req := &shopv1.WatchProductsRequest{IncludeExisting: *existing}
		for _, s := range categories {
			cat, err := parseCategory(s)
			if err != nil {
				return err
			}
			req.Categories = append(req.Categories, cat)
		}
		for ev, err := range c.catalog.WatchProductsSeq(ctx, req, c.callOpts()...) {
			if err != nil {
				if ctx.Err() != nil {
					return nil // Ctrl-C
				}
				return err
			}
			if ev.GetType() == shopv1.ProductEvent_SYNCED {
				fmt.Fprintln(c.stderr, "watching for changes; Ctrl-C to stop")
				continue
			}
			printEvent(c.stdout, ev)
		}
		return nil
	}
}

// productFlags are the product fields create and update take.
type productFlags struct {
	title, description, category string
	price, currency, stock       string
	tags                         listFlag
	attrs                        listFlag
}

// maskPaths maps each flag to the product field it sets.
var maskPaths = map[string]string{
	"title":       "title",
	"description": "description",
	"category":    "category",
	"price":       "price",
	"currency":    "price",
	"stock":       "stock_quantity",
	"tag":         "tags",
	"attr":        "attributes",
}

func (pf *productFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&pf.title, "title", "", "the product's title")
	fs.StringVar(&pf.description, "description", "", "the product's description")
	fs.StringVar(&pf.category, "category", "", "books, electronics, grocery, clothing or home")
	fs.StringVar(&pf.price, "price", "", "the `price` in major units, e.g. 249 or 12.50")
	fs.StringVar(&pf.currency, "currency", "EUR", "the price's ISO 4217 `code`")
	fs.StringVar(&pf.stock, "stock", "", "units in stock, or \"untracked\" (default: untracked)")
	fs.Var(&pf.tags, "tag", "a `tag` (repeatable)")
	fs.Var(&pf.attrs, "attr", "an attribute, `key=value` (repeatable)")
}

// product builds a product from the flags, and the update mask paths of the
// flags that were given, in flag order without duplicates.
func (pf *productFlags) product(fs *flag.FlagSet) (*shopv1.Product, []string, error) {
	p := &shopv1.Product{Title: pf.title, Description: pf.description, Tags: pf.tags}
	var paths []string
	seen := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		if path, ok := maskPaths[f.Name]; ok && !seen[path] {
			seen[path] = true
			paths = append(paths, path)
		}
	})
	if pf.category != "" {
		cat, err := parseCategory(pf.category)
		if err != nil {
			return nil, nil, err
		}
		p.Category = cat
	}
	if pf.price != "" {
		units, err := parseMinorUnits(pf.price)
		if err != nil {
			return nil, nil, err
		}
		p.Price = &shopv1.Money{CurrencyCode: strings.ToUpper(pf.currency), MinorUnits: units}
	} else if seen["price"] {
		return nil, nil, usagef("--currency needs --price")
	}
	switch pf.stock {
	case "", "untracked":
	default:
		n, err := strconv.ParseInt(pf.stock, 10, 32)
		if err != nil || n < 0 {
			return nil, nil, usagef("--stock %q: want a number of units ≥ 0 or \"untracked\"", pf.stock)
		}
		p.StockQuantity = proto.Int32(int32(n))
	}
	for _, kv := range pf.attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, usagef("--attr %q: want key=value", kv)
		}
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		p.Attributes[k] = v
	}
	return p, paths, nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// parseCategory accepts "electronics" as well as "PRODUCT_CATEGORY_ELECTRONICS".
func parseCategory(s string) (shopv1.ProductCategory, error) {
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "PRODUCT_CATEGORY_") {
		name = "PRODUCT_CATEGORY_" + name
	}
	v, ok := shopv1.ProductCategory_value[name]
	if !ok || v == 0 {
		return 0, usagef("unknown category %q: want books, electronics, grocery, clothing or home", s)
	}
	return shopv1.ProductCategory(v), nil
}

// parseMinorUnits turns "12.5" into 1250: an amount in major units with at
// most two decimals, in minor units.
func parseMinorUnits(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, usagef("--price %q: at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseUint(whole, 10, 40)
	f, err2 := strconv.ParseUint(frac, 10, 8)
	if err1 != nil || err2 != nil {
		return 0, usagef("--price %q: want an amount such as 249 or 12.50", s)
	}
	return int64(w*100 + f), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
