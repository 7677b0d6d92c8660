package validate

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Check lists what a set of manifests lacks against issue 5's list: etcd
// as a 3-member StatefulSet with volumes, zone anti-affinity, compaction
// and a quota, and a PDB; the catalog as a 3-replica Deployment with probes
// on the debug port, resources, config from a Secret, a Service, a PDB and
// an HPA. Every selector must select its pods.
func Check(o *Objects) []string {
	var p []string
	fail := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if len(o.StatefulSets) != 1 {
		fail("want 1 etcd StatefulSet, have %d", len(o.StatefulSets))
	} else {
		p = append(p, checkEtcd(o, o.StatefulSets[0])...)
	}
	if len(o.Deployments) != 1 {
		fail("want 1 catalog Deployment, have %d", len(o.Deployments))
	} else {
		p = append(p, checkCatalog(o, o.Deployments[0])...)
	}
	return p
}

func checkEtcd(o *Objects, ss *appsv1.StatefulSet) []string {
	var p []string
	fail := func(format string, args ...any) { p = append(p, "etcd: "+fmt.Sprintf(format, args...)) }
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 3 {
		fail("replicas must be 3")
	}
	pod := ss.Spec.Template
	if sel, err := selects(ss.Spec.Selector.MatchLabels, pod.Labels); err != nil || !sel {
		fail("selector does not select the pod template (%v)", err)
	}
	if len(ss.Spec.VolumeClaimTemplates) == 0 {
		fail("no volumeClaimTemplates: members would lose their data")
	}
	if !hasZoneAntiAffinity(pod.Spec.Affinity) {
		fail("no pod anti-affinity on topology.kubernetes.io/zone")
	}
	if len(pod.Spec.Containers) != 1 {
		fail("want one container")
		return p
	}
	c := pod.Spec.Containers[0]
	args := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	for _, flag := range []string{"--auto-compaction-mode=", "--auto-compaction-retention=", "--quota-backend-bytes=", "--initial-cluster="} {
		if !strings.Contains(args, flag) {
			fail("etcd is not started with %s", flag)
		}
	}
	for _, v := range ss.Spec.VolumeClaimTemplates {
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == v.Name }) {
			fail("volume claim %s is not mounted", v.Name)
		}
	}
	if !hasPDB(o, pod.Labels) {
		fail("no PodDisruptionBudget selects its pods")
	}
	if !hasService(o, pod.Labels, ss.Spec.ServiceName) {
		fail("no Service %q selects its pods", ss.Spec.ServiceName)
	}
	return p
}

func checkCatalog(o *Objects, d *appsv1.Deployment) []string {
	var p []string
	fail := func(format string, args ...any) { p = append(p, "catalog: "+fmt.Sprintf(format, args...)) }
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		fail("replicas must be 3")
	}
	pod := d.Spec.Template
	if sel, err := selects(d.Spec.Selector.MatchLabels, pod.Labels); err != nil || !sel {
		fail("selector does not select the pod template (%v)", err)
	}
	if len(pod.Spec.Containers) != 1 {
		fail("want one container")
		return p
	}
	c := pod.Spec.Containers[0]
	debugPort := ""
	for _, port := range c.Ports {
		if port.ContainerPort == 5001 {
			debugPort = port.Name
		}
	}
	for _, pr := range []struct {
		name, path string
		probe      *corev1.Probe
	}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/livez", c.LivenessProbe}} {
		switch {
		case pr.probe == nil || pr.probe.HTTPGet == nil:
			fail("no HTTP %s probe", pr.name)
		case pr.probe.HTTPGet.Path != pr.path:
			fail("%s probe path %s, want %s", pr.name, pr.probe.HTTPGet.Path, pr.path)
		case pr.probe.HTTPGet.Port.String() != debugPort && pr.probe.HTTPGet.Port.IntValue() != 5001:
			fail("%s probe is not on the debug port 5001", pr.name)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		fail("resources: want cpu and memory requests and a memory limit")
	}
	if !configFromSecret(o, pod.Spec, c) {
		fail("the config file is not mounted from a Secret of these manifests")
	}
	for name, cfg := range o.ConfigFiles() {
		for _, ref := range References(cfg) {
			if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == ref }) {
				fail("%s references ${%s}, which the container's env does not set: the server would refuse to start", name, ref)
			}
		}
	}
	if !hasPDB(o, pod.Labels) {
		fail("no PodDisruptionBudget selects its pods")
	}
	if !hasService(o, pod.Labels, "") {
		fail("no Service selects its pods")
	}
	hpa := false
	for _, h := range o.HPAs {
		hpa = hpa || (h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name)
	}
	if !hpa {
		fail("no HorizontalPodAutoscaler targets Deployment %s", d.Name)
	}
	return p
}

func selects(sel, podLabels map[string]string) (bool, error) {
	if len(sel) == 0 {
		return false, fmt.Errorf("empty selector")
	}
	return labels.SelectorFromSet(sel).Matches(labels.Set(podLabels)), nil
}

func hasZoneAntiAffinity(a *corev1.Affinity) bool {
	if a == nil || a.PodAntiAffinity == nil {
		return false
	}
	for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if t.TopologyKey == "topology.kubernetes.io/zone" {
			return true
		}
	}
	for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if w.PodAffinityTerm.TopologyKey == "topology.kubernetes.io/zone" {
			return true
		}
	}
	return false
}

func hasPDB(o *Objects, podLabels map[string]string) bool {
	for _, pdb := range o.PDBs {
		if pdb.Spec.Selector != nil {
			if ok, _ := selects(pdb.Spec.Selector.MatchLabels, podLabels); ok {
				return true
			}
		}
	}
	return false
}

func hasService(o *Objects, podLabels map[string]string, name string) bool {
	for _, s := range o.Services {
		if ok, _ := selects(s.Spec.Selector, podLabels); ok && (name == "" || s.Name == name) {
			return true
		}
	}
	return false
}

// configFromSecret: a Secret volume of these manifests holds the file that
// $ICE_REST_CATALOG_CONFIG names.
func configFromSecret(o *Objects, spec corev1.PodSpec, c corev1.Container) bool {
	path := ""
	for _, e := range c.Env {
		if e.Name == "ICE_REST_CATALOG_CONFIG" {
			path = e.Value
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret == nil {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name != v.Name || !strings.HasPrefix(path, m.MountPath+"/") {
				continue
			}
			for _, s := range o.Secrets {
				key := strings.TrimPrefix(path, m.MountPath+"/")
				if s.Name == v.Secret.SecretName && (s.StringData[key] != "" || len(s.Data[key]) > 0) {
					return true
				}
			}
		}
	}
	return false
}

// ConfigFiles returns the catalog config files held in Secrets, by Secret
// name, for the config check.
func (o *Objects) ConfigFiles() map[string]string {
	out := map[string]string{}
	for _, s := range o.Secrets {
		for k, v := range s.StringData {
			if strings.HasSuffix(k, ".yaml") {
				out[s.Name+"/"+k] = v
			}
		}
	}
	return out
}
