package validate

import (
	"fmt"
	"regexp"
	"sort"
)

var shellVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Envsubst does what `envsubst '${A} ${B}'` does: it replaces $A, ${A},
// $B and ${B} and leaves every other reference alone (the server expands
// the ${ICE_TOKEN_*} left in its config, and kubelet expands $(POD_NAME)).
// A listed variable without a value is an error, as a template rendered
// with it unset would be broken.
func Envsubst(text string, listed map[string]string) (string, error) {
	var missing []string
	out := shellVar.ReplaceAllStringFunc(text, func(ref string) string {
		m := shellVar.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, ok := listed[name]
		if !ok {
			return ref
		}
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", fmt.Errorf("variables without a value: %v", missing)
	}
	return out, nil
}

// References lists the ${VAR} references in text, sorted, without repeats;
// whole-line # comments are skipped.
func References(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range shellVar.FindAllStringSubmatch(stripComments(text), -1) {
		if m[1] != "" && !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}
