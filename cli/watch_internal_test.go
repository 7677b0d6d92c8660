package cli

import "testing"

// TestInsertWatchPattern: in a --watch pattern the bucket must be equal
// and each * of the key matches any characters, / included; nothing else
// is a wildcard.
func TestInsertWatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, bucket, key string
		want                 bool
	}{
		{"s3://b/in/*.parquet", "b", "in/x.parquet", true},
		{"s3://b/in/*.parquet", "b", "in/day=1/x.parquet", true},
		{"s3://b/in/*.parquet", "b", "in/.parquet", true},
		{"s3://b/in/*.parquet", "c", "in/x.parquet", false},
		{"s3://b/in/*.parquet", "b", "in/x.parquet.tmp", false},
		{"s3://b/in/*.parquet", "b", "other/in/x.parquet", false},
		{"s3://b/in/*", "b", "in/", true},
		{"s3://b/in/*", "b", "in", false},
		{"s3://b/a*a", "b", "a", false},
		{"s3://b/a*a", "b", "aa", true},
		{"s3://b/ab*bc", "b", "abc", false},
		{"s3://b/x/*/y/*.csv", "b", "x/1/2/y/z.csv", true},
		{"s3://b/x/*/y/*.csv", "b", "x/1/2/z.csv", false},
		{"s3://b/exact.parquet", "b", "exact.parquet", true},
		{"s3://b/exact.parquet", "b", "exact.parquet2", false},
		{"s3://b/f?.parquet", "b", "f1.parquet", false},
		{"s3://b/f?.parquet", "b", "f?.parquet", true},
		{"s3a://b/in/*", "b", "in/x", true},
	} {
		p, err := parseWatchPattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if got := p.match(c.bucket, c.key); got != c.want {
			t.Errorf("%s matches s3://%s/%s = %v, want %v", c.pattern, c.bucket, c.key, got, c.want)
		}
	}
	for _, bad := range []string{"/local/*.parquet", "s3:///key", "s3://b*/k", "https://b/k"} {
		if _, err := parseWatchPattern(bad); err == nil {
			t.Errorf("pattern %s accepted", bad)
		}
	}
}

// TestInsertWatchSafeKey: keys that would name another path once
// normalised, or hold control characters, are refused.
func TestInsertWatchSafeKey(t *testing.T) {
	for key, want := range map[string]bool{
		"in/x.parquet": true, "in/a b.parquet": true, "in/..x.parquet": true,
		"": false, "in/../x": false, "../x": false, "in/./x": false, "in/..": false,
		"in/x\x00": false, "in/\nx": false,
	} {
		if got := safeKey(key); got != want {
			t.Errorf("safeKey(%q) = %v, want %v", key, got, want)
		}
	}
}
