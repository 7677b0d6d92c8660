package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks what the image promises without building it (no
// container engine here): a static build, a distroless or scratch final
// stage, a non-root user, and the two ports.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(text, -1)
	if len(froms) < 2 {
		t.Fatalf("want a build stage and a final stage, have %v", froms)
	}
	final := froms[len(froms)-1][1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %s is neither distroless static nor scratch", final)
	}
	finalStage := text[strings.LastIndex(text, "\nFROM "):]
	if m := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(finalStage); m == nil || strings.HasPrefix(m[1], "0") || strings.HasPrefix(m[1], "root") {
		t.Errorf("final stage does not run as a non-root USER: %v", m)
	}
	if !regexp.MustCompile(`(?m)^RUN CGO_ENABLED=0 go build .* \./cmd/ice-rest-catalog$`).MatchString(text) {
		t.Error("the binary is not built with CGO_ENABLED=0 from ./cmd/ice-rest-catalog")
	}
	if !strings.Contains(finalStage, "EXPOSE 5000 5001") {
		t.Error("the image does not expose 5000 and 5001")
	}
}
