{{- define "driftless.selector" -}}
app.kubernetes.io/name: driftless
app.kubernetes.io/component: manager
{{- end -}}


{{- /* The pods of every manager Deployment, all shards: what the Services
and the NetworkPolicy select. */}}
{{- define "driftless.managers" -}}
app.kubernetes.io/name: driftless
{{- end -}}

{{- /* The selector of the manager Deployment of a shard ("" for the
AppSources without a shard label): disjoint from the other shards'. */}}
{{- define "driftless.managerSelector" -}}
{{- if . -}}
app.kubernetes.io/name: driftless
app.kubernetes.io/component: manager-shard-{{ . }}
{{- else -}}
{{ include "driftless.selector" . }}
{{- end -}}
{{- end -}}

{{- define "driftless.managerName" -}}
driftless-manager{{ if . }}-{{ . }}{{ end }}
{{- end -}}
