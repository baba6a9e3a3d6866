{{- define "awoooi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "awoooi.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "awoooi.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "awoooi.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "awoooi.serviceAccount" -}}
{{- .Values.worker.serviceAccount.name | default (printf "%s-worker" (include "awoooi.fullname" .)) -}}
{{- end -}}

{{/* envFrom, TLS env and volumes shared by both Deployments. */}}
{{- define "awoooi.envFrom" -}}
- configMapRef:
    name: {{ include "awoooi.fullname" . }}
{{- with .Values.existingSecret }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{- define "awoooi.env" -}}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- if .Values.temporalTls.existingSecret }}
- name: AWOOOI_TEMPORAL_TLS_CERT
  value: /etc/awoooi/temporal-tls/tls.crt
- name: AWOOOI_TEMPORAL_TLS_KEY
  value: /etc/awoooi/temporal-tls/tls.key
{{- if .Values.temporalTls.ca }}
- name: AWOOOI_TEMPORAL_TLS_CA
  value: /etc/awoooi/temporal-tls/ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{- define "awoooi.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.temporalTls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/awoooi/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "awoooi.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.temporalTls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporalTls.existingSecret }}
{{- end }}
{{- end -}}
