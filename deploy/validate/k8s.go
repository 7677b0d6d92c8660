// Package validate checks the deployment files of ice-rest-catalog offline:
// Kubernetes manifests, the Helm chart's output, the EKS templates, the
// docker-compose example and the Grafana dashboard. It is a module of its
// own so that the Kubernetes and Helm libraries stay out of the server's
// go.mod.
package validate

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// Objects are the decoded objects of one set of manifests, by kind.
type Objects struct {
	StatefulSets []*appsv1.StatefulSet
	Deployments  []*appsv1.Deployment
	Services     []*corev1.Service
	Secrets      []*corev1.Secret
	ConfigMaps   []*corev1.ConfigMap
	Accounts     []*corev1.ServiceAccount
	PDBs         []*policyv1.PodDisruptionBudget
	HPAs         []*autoscalingv2.HorizontalPodAutoscaler
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// Decode splits multi-document YAML and decodes each document strictly into
// the Kubernetes API type of its apiVersion and kind: an unknown or
// misspelt field, a wrong type or an unsupported kind is an error.
func (o *Objects) Decode(name string, data []byte) error {
	for i, doc := range docSep.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return fmt.Errorf("%s document %d: %w", name, i+1, err)
		}
		if err := o.decodeOne(tm.APIVersion+" "+tm.Kind, []byte(doc)); err != nil {
			return fmt.Errorf("%s document %d (%s %s): %w", name, i+1, tm.APIVersion, tm.Kind, err)
		}
	}
	return nil
}

func (o *Objects) decodeOne(kind string, doc []byte) error {
	switch kind {
	case "apps/v1 StatefulSet":
		return strict(doc, &o.StatefulSets)
	case "apps/v1 Deployment":
		return strict(doc, &o.Deployments)
	case "v1 Service":
		return strict(doc, &o.Services)
	case "v1 Secret":
		return strict(doc, &o.Secrets)
	case "v1 ConfigMap":
		return strict(doc, &o.ConfigMaps)
	case "v1 ServiceAccount":
		return strict(doc, &o.Accounts)
	case "policy/v1 PodDisruptionBudget":
		return strict(doc, &o.PDBs)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return strict(doc, &o.HPAs)
	}
	return fmt.Errorf("kind not expected in these manifests")
}

// strict decodes into a new T and appends it: sigs.k8s.io/yaml turns YAML
// into JSON and decodes it with unknown fields and duplicate keys rejected.
func strict[T any](doc []byte, into *[]*T) error {
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return err
	}
	*into = append(*into, v)
	return nil
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
