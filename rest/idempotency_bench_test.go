package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkCommitIdempotencyKey measures what a key adds to a commit: the
// claim and the record's lease grant (the record itself rides in the swap).
func BenchmarkCommitIdempotencyKey(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		b.Run(fmt.Sprintf("keyed=%t", keyed), func(b *testing.B) {
			a, _, _ := newKeyedAPI(b)
			post := func(path, body, key string) {
				req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
				if key != "" {
					req.Header.Set("Idempotency-Key", key)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
			post("/v1/namespaces", `{"namespace":["db"]}`, "")
			post("/v1/namespaces/db/tables", `{"name":"t","schema":`+schema+`}`, "")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key := ""
				if keyed {
					key = uuid.Must(uuid.NewV7()).String()
				}
				post("/v1/namespaces/db/tables/t", fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"%d"}}]}`, i), key)
			}
		})
	}
}
