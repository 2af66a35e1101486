{{- define "cache.fullname" -}}
{{ .Release.Name }}-cache
{{- end }}
