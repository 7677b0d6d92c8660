package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// emit prints v as indented JSON, or as YAML (the Java tool's default). The
// YAML is made from the JSON so that both show the same fields, named by the
// same json tags, in the same order.
func emit(w io.Writer, v any, asJSON bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if asJSON {
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return emitYAML(w, b)
}

// emitYAML prints JSON text as block-style YAML. JSON is YAML, so parsing
// it into a node keeps the key order; clearing the flow style makes the
// output read like hand-written YAML.
func emitYAML(w io.Writer, jsonText []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(jsonText, &n); err != nil {
		return fmt.Errorf("convert output to YAML: %w", err)
	}
	blockStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("write YAML: %w", err)
	}
	return enc.Close()
}

func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Style&yaml.DoubleQuotedStyle != 0 {
		// Quotes came from JSON; let the encoder quote only when needed.
		n.Style &^= yaml.DoubleQuotedStyle
		if n.Tag == "!!str" && needsStrTag(n.Value) {
			n.Style |= yaml.DoubleQuotedStyle
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// needsStrTag reports whether a string would read back as another type
// without quotes ("true", "1", "null", ...).
func needsStrTag(s string) bool {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return true
	}
	_, isStr := v.(string)
	return !isStr
}
