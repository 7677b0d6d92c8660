package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashSecret(t *testing.T) {
	var out bytes.Buffer
	if err := hashSecret(nil, strings.NewReader("s3cret\n"), &out); err != nil {
		t.Fatal(err)
	}
	// printf %s s3cret | sha256sum
	if got := strings.TrimSpace(out.String()); got != "sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0" {
		t.Fatalf("got %q", got)
	}
	out.Reset()
	if err := hashSecret([]string{"--bcrypt"}, strings.NewReader("s3cret"), &out); err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword(bytes.TrimSpace(out.Bytes()), []byte("s3cret")); err != nil {
		t.Fatalf("bcrypt output %q does not match: %v", out.String(), err)
	}
	if err := hashSecret(nil, strings.NewReader(""), &out); err == nil {
		t.Fatal("empty secret accepted")
	}
}
