package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var eksDir = filepath.Join(repo, "examples/eks")

// eksValues are test values for the variables the EKS README exports.
var eksValues = map[string]string{
	"NAMESPACE":          "lake",
	"IMAGE":              "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ice-rest-catalog:0.1.0",
	"AWS_REGION":         "eu-west-1",
	"AWS_ACCOUNT_ID":     "123456789012",
	"OIDC_PROVIDER":      "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
	"S3_BUCKET":          "lake-bucket",
	"S3_PREFIX":          "warehouse",
	"IRSA_ROLE_ARN":      "arn:aws:iam::123456789012:role/ice-rest-catalog",
	"ETCD_STORAGE_CLASS": "gp3",
}

// readmeVars is the SHELL-FORMAT list the README passes to envsubst.
func readmeVars(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(eksDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ICE_VARS='([^']*)'`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md defines no ICE_VARS='${A} ${B} ...' list for envsubst")
	}
	vars := map[string]string{}
	for _, name := range References(string(m[1])) {
		v, ok := eksValues[name]
		if !ok {
			t.Fatalf("README lists %s, which this test has no value for", name)
		}
		vars[name] = v
	}
	return vars
}

func TestEKSTemplates(t *testing.T) {
	vars := readmeVars(t)
	o := &Objects{}
	files, _ := filepath.Glob(filepath.Join(eksDir, "*.tmpl"))
	if len(files) < 3 {
		t.Fatalf("templates under examples/eks: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text, err := Envsubst(string(data), vars)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.HasSuffix(f, ".json.tmpl") {
			if !json.Valid([]byte(text)) {
				t.Errorf("%s: not valid JSON once rendered", f)
			}
			if left := References(text); len(left) > 0 {
				t.Errorf("%s: ${...} left after envsubst: %v (add them to ICE_VARS in the README)", f, left)
			}
			continue
		}
		if err := o.Decode(f, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	requireComplete(t, o)

	if len(o.Accounts) != 1 || o.Accounts[0].Annotations["eks.amazonaws.com/role-arn"] != eksValues["IRSA_ROLE_ARN"] {
		t.Error("no ServiceAccount annotated with eks.amazonaws.com/role-arn")
	} else if o.Deployments[0].Spec.Template.Spec.ServiceAccountName != o.Accounts[0].Name {
		t.Error("the catalog does not run as the IRSA ServiceAccount")
	}
	for name, cfg := range o.ConfigFiles() {
		// IRSA: S3 credentials come from the default AWS chain, never from keys.
		if strings.Contains(cfg, "accessKeyID") || strings.Contains(cfg, "secretAccessKey") {
			t.Errorf("%s sets S3 keys; with IRSA it must not", name)
		}
		if !strings.Contains(cfg, "warehouse: s3://lake-bucket/warehouse") {
			t.Errorf("%s: warehouse not rendered:\n%s", name, cfg)
		}
	}
	for _, c := range o.Deployments[0].Spec.Template.Spec.Containers {
		if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return strings.HasPrefix(e.Name, "AWS_ACCESS_KEY") }) {
			t.Error("the Deployment passes AWS keys; IRSA needs none")
		}
	}
	if zone := o.StatefulSets[0].Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution; len(zone) == 0 {
		t.Error("EKS etcd: zone anti-affinity should be required (three AZs)")
	}
}
