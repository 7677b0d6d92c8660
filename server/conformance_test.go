package server_test

import (
	"testing"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/catalogtest"

	"github.com/ice-rest-catalog/ice/internal/testenv"
)

// TestCatalogConformance runs iceberg-go's catalog conformance suite through
// its REST client against one server on an embedded etcd.
func TestCatalogConformance(t *testing.T) {
	c := testenv.StartCatalog(t, testenv.CatalogConfig(t))
	catalogtest.RunCatalogTests(t, catalogtest.Config{
		NewCatalog:                  func(t *testing.T) catalog.Catalog { return testenv.Client(t, c.URL) },
		SupportsNamespaceProperties: true,
	})
}
