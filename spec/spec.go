// Package spec holds the Iceberg REST catalog OpenAPI document this server
// implements, vendored from Apache Iceberg (Apache License 2.0, see the
// file's header), so tests can check every request and response against it.
package spec

import _ "embed"

// OpenAPI is rest-catalog-open-api.yaml as vendored.
//
//go:embed rest-catalog-open-api.yaml
var OpenAPI []byte
