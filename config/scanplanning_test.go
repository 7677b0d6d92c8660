package config

import (
	"strings"
	"testing"
	"time"
)

func TestScanPlanningKeys(t *testing.T) {
	env := func(string) string { return "" }
	c, err := Parse([]byte("anonymousAccess: {enabled: true}\nscanPlanning: {asyncAfter: -1s, planTimeout: 90s, planTTL: 30m, filesPerTask: 5, signingKey: 0123456789abcdef}\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	want := ScanPlanning{AsyncAfter: -time.Second, PlanTimeout: 90 * time.Second, PlanTTL: 30 * time.Minute, FilesPerTask: 5, SigningKey: "0123456789abcdef"}
	if c.ScanPlanning != want {
		t.Errorf("got %+v, want %+v", c.ScanPlanning, want)
	}
	for text, msg := range map[string]string{
		"scanPlanning: {signingKey: short}\n": "at least 16 bytes",
		"scanPlanning: {filesPerTask: -1}\n":  "must not be negative",
		"scanPlanning: {asyncAfter: soon}\n":  "soon",
		"name: p\n":                           "reserved",
	} {
		if _, err := Parse([]byte(text), env); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v; want an error about %q", text, err, msg)
		}
	}
}
