// Command demo-read reads the demo data set (ice-rest-catalog demo) with
// iceberg-go: it loads demo.orders from the catalog at $ICE_URI (default
// http://localhost:5000), scans the rows of one region, and prints counts.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "demo-read:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	uri := os.Getenv("ICE_URI")
	if uri == "" {
		uri = "http://localhost:5000"
	}
	cat, err := rest.NewCatalog(ctx, "demo", uri)
	if err != nil {
		return err
	}
	defer cat.Close()
	tbl, err := cat.LoadTable(ctx, table.Identifier{"demo", "orders"})
	if err != nil {
		return err
	}
	all, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		return err
	}
	defer all.Release()
	eu, err := tbl.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("region"), "eu"))).ToArrowTable(ctx)
	if err != nil {
		return err
	}
	defer eu.Release()
	fmt.Printf("demo.orders: %d rows in %d snapshots; %d rows with region = 'eu'\n",
		all.NumRows(), len(tbl.Metadata().Snapshots()), eu.NumRows())
	return nil
}
