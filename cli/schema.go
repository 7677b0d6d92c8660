package cli

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// checkFileSchema tells whether a Parquet file's columns fit the table's,
// matching top-level columns by name, and names the first column that does
// not: one missing from the table, one of another type (a widening such as
// int to long is allowed), one the table requires that the file lacks or
// may leave null. iceberg-go checks again when it reads the file; this
// check is here for its message.
func checkFileSchema(sc *iceberg.Schema, file *arrow.Schema) error {
	byName := map[string]iceberg.NestedField{}
	for _, f := range sc.Fields() {
		byName[f.Name] = f
	}
	seen := map[string]bool{}
	for _, af := range file.Fields() {
		seen[af.Name] = true
		tf, ok := byName[af.Name]
		if !ok {
			return fmt.Errorf("column %q is in the file but not in the table schema", af.Name)
		}
		ft, err := table.ArrowTypeToIceberg(af.Type, true)
		if err != nil {
			return fmt.Errorf("column %q: file type %s has no Iceberg equivalent: %w", af.Name, af.Type, err)
		}
		if !typeFits(ft, tf.Type) {
			return fmt.Errorf("column %q has type %s in the file but %s in the table", af.Name, ft, tf.Type)
		}
		if tf.Required && af.Nullable {
			return fmt.Errorf("column %q is required in the table but optional (nullable) in the file", af.Name)
		}
	}
	for _, tf := range sc.Fields() {
		if tf.Required && !seen[tf.Name] && tf.InitialDefault == nil {
			return fmt.Errorf("required column %q of the table is missing from the file", tf.Name)
		}
	}
	return nil
}

// typeFits reports whether values of file type ft can be read as table
// type tt. Nested types are compared by kind only: their field ids differ
// between file and table, and iceberg-go checks their insides.
func typeFits(ft, tt iceberg.Type) bool {
	if ft.Equals(tt) {
		return true
	}
	switch tt.(type) {
	case *iceberg.StructType, *iceberg.ListType, *iceberg.MapType:
		return fmt.Sprintf("%T", ft) == fmt.Sprintf("%T", tt)
	}
	_, err := iceberg.PromoteType(ft, tt)
	return err == nil
}
