package warehouse

import (
	"bytes"
	"testing"
)

func TestMetadataCompressionRoundTrip(t *testing.T) {
	raw := []byte(`{"format-version":2}`)
	for _, name := range []string{"00001-u.metadata.json", "00001-u.gz.metadata.json", "00001-u.zstd.metadata.json"} {
		data, err := compress(name, raw)
		if err != nil {
			t.Fatal(err)
		}
		if name != "00001-u.metadata.json" && bytes.Equal(data, raw) {
			t.Errorf("%s written uncompressed", name)
		}
		back, err := decompress(data, DefaultMaxMetadataBytes)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("%s: round trip gave %q, %v", name, back, err)
		}
	}
}
