{{- define "driftless.selector" -}}
app.kubernetes.io/name: driftless
app.kubernetes.io/component: manager
{{- end -}}
