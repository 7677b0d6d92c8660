package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var chartDir = filepath.Join(repo, "deploy/helm/ice-rest-catalog")

func renderChart(t *testing.T, overrides map[string]any) *Objects {
	t.Helper()
	manifests, err := RenderChart(chartDir, "lake", "data", overrides)
	if err != nil {
		t.Fatal(err)
	}
	o, err := DecodeAll(manifests)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestHelmChartDefaults(t *testing.T) {
	o := renderChart(t, nil)
	requireComplete(t, o)
	cfg := o.ConfigFiles()["lake-ice-rest-catalog-config/.ice-rest-catalog.yaml"]
	want := "uri: etcd:http://lake-ice-rest-catalog-etcd-0.lake-ice-rest-catalog-etcd.data.svc:2379,"
	if !strings.Contains(cfg, want) {
		t.Errorf("the config does not point at the chart's etcd (%s):\n%s", want, cfg)
	}
	args := strings.Join(o.StatefulSets[0].Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--quota-backend-bytes=8589934592", "--initial-cluster=lake-ice-rest-catalog-etcd-0=http://lake-ice-rest-catalog-etcd-0.lake-ice-rest-catalog-etcd.data.svc:2380,"} {
		if !strings.Contains(args, want) {
			t.Errorf("etcd args lack %s: %s", want, args)
		}
	}
	var parsed map[string]any
	if err := yaml.UnmarshalStrict([]byte(cfg), &parsed); err != nil {
		t.Errorf("rendered config is not YAML: %v", err)
	}
}

// TestHelmChartOptions renders the chart with the switches an EKS install
// uses: IRSA annotation, required zone anti-affinity, no HPA.
func TestHelmChartOptions(t *testing.T) {
	o := renderChart(t, map[string]any{
		"serviceAccount": map[string]any{"annotations": map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ice"}},
		"etcd":           map[string]any{"zoneAntiAffinity": "required", "storageClassName": "gp3"},
		"autoscaling":    map[string]any{"enabled": false},
	})
	if len(o.HPAs) != 0 {
		t.Error("autoscaling.enabled=false still renders an HPA")
	}
	if len(o.Accounts) != 1 || o.Accounts[0].Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Error("no ServiceAccount with the IRSA annotation")
	}
	if sa := o.Deployments[0].Spec.Template.Spec.ServiceAccountName; len(o.Accounts) == 1 && sa != o.Accounts[0].Name {
		t.Errorf("the Deployment runs as %q, not as the ServiceAccount %q", sa, o.Accounts[0].Name)
	}
	req := o.StatefulSets[0].Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(req) != 2 || req[1].TopologyKey != "topology.kubernetes.io/zone" {
		t.Errorf("zoneAntiAffinity=required: required terms %+v", req)
	}
	if sc := o.StatefulSets[0].Spec.VolumeClaimTemplates[0].Spec.StorageClassName; sc == nil || *sc != "gp3" {
		t.Error("etcd.storageClassName not applied")
	}
}
