package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repo is the repository root, from deploy/validate.
const repo = "../.."

func decodeFiles(t *testing.T, files ...string) *Objects {
	t.Helper()
	o := &Objects{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Decode(f, data); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func requireComplete(t *testing.T, o *Objects) {
	t.Helper()
	for _, p := range Check(o) {
		t.Error(p)
	}
}

func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repo, "deploy/kubernetes/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under deploy/kubernetes: %v", err)
	}
	requireComplete(t, decodeFiles(t, files...))
}

// TestStrictDecodeRejects proves the decoder is strict, so the tests above
// mean something.
func TestStrictDecodeRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 3\n",
		"wrong type":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: three\n",
		"unknown kind":   "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"nested unknown": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 80, targetPrt: 8080}]\n",
		"duplicate key":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
	} {
		if err := (&Objects{}).Decode(name, []byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error does not name the document: %v", name, err)
		}
	}
}
