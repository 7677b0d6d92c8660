{{- define "ice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ice.etcd" -}}
{{- printf "%s-etcd" (include "ice.fullname" .) -}}
{{- end -}}

{{- define "ice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: ice-rest-catalog
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ice.selector" -}}
app.kubernetes.io/name: ice-rest-catalog
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ice.etcdSelector" -}}
app.kubernetes.io/name: etcd
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ice.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The config file: the values' config, with uri pointing at this chart's etcd unless set. */}}
{{- define "ice.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- if and (not $cfg.uri) .Values.etcd.enabled -}}
{{- $etcd := include "ice.etcd" . -}}
{{- $urls := list -}}
{{- range $i := until 3 -}}
{{- $urls = append $urls (printf "http://%s-%d.%s.%s.svc:2379" $etcd $i $etcd $.Release.Namespace) -}}
{{- end -}}
{{- $_ := set $cfg "uri" (printf "etcd:%s" (join "," $urls)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
