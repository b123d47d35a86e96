package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
)

// printProduct prints one product, a field per line.
func printProduct(w io.Writer, p *shopv1.Product) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	line("name", p.GetName())
	line("title", p.GetTitle())
	line("description", p.GetDescription())
	line("category", category(p.GetCategory()))
	line("price", money(p.GetPrice()))
	line("stock", stock(p))
	line("tags", strings.Join(p.GetTags(), ", "))
	line("attributes", attributes(p.GetAttributes()))
	line("etag", p.GetEtag())
	line("created", timestamp(p.GetCreateTime()))
	line("updated", timestamp(p.GetUpdateTime()))
	tw.Flush()
}

// printProducts prints products as a table.
func printProducts(w io.Writer, products []*shopv1.Product) {
	if len(products) == 0 {
		fmt.Fprintln(w, "no products")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTITLE\tCATEGORY\tPRICE\tSTOCK")
	for _, p := range products {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.GetName(), p.GetTitle(), category(p.GetCategory()), money(p.GetPrice()), stock(p))
	}
	tw.Flush()
}

// printEvent prints one watch event on one line.
func printEvent(w io.Writer, ev *shopv1.ProductEvent) {
	p := ev.GetProduct()
	t := ev.GetEventTime().AsTime().Local().Format(time.TimeOnly)
	fmt.Fprintf(w, "%s  %-8s  %s  %q  %s  stock %s\n", t, ev.GetType(), p.GetName(), p.GetTitle(), money(p.GetPrice()), stock(p))
}

func category(c shopv1.ProductCategory) string {
	if c == shopv1.ProductCategory_PRODUCT_CATEGORY_UNSPECIFIED {
		return "-"
	}
	return strings.ToLower(strings.TrimPrefix(c.String(), "PRODUCT_CATEGORY_"))
}

// money formats an amount as "EUR 12.50", assuming two decimals.
func money(m *shopv1.Money) string {
	if m == nil {
		return "-"
	}
	units := m.GetMinorUnits()
	sign := ""
	if units < 0 {
		sign, units = "-", -units
	}
	return fmt.Sprintf("%s %s%d.%02d", m.GetCurrencyCode(), sign, units/100, units%100)
}

func stock(p *shopv1.Product) string {
	if p.StockQuantity == nil {
		return "untracked"
	}
	return strconv.Itoa(int(p.GetStockQuantity()))
}

func attributes(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ", ")
}

func timestamp(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().Local().Format(time.RFC3339)
}
