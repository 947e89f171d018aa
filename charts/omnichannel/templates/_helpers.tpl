{{- define "omnichannel.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "omnichannel.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "tickets") */}}
{{- define "omnichannel.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "omnichannel.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "omnichannel.operatorImage" -}}
{{- printf "%s:%s" .Values.operator.image.repository (.Values.operator.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "omnichannel.secretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-secrets" (include "omnichannel.fullname" .)) -}}
{{- end -}}

{{- define "omnichannel.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s-nats:4222" (include "omnichannel.fullname" .) -}}
{{- else -}}
{{- required "nats.url is required when nats.enabled is false" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{/* Environment every omnichannel process shares: config from the ConfigMap, tokens and Mongo URL from Secrets. */}}
{{- define "omnichannel.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "omnichannel.fullname" . }}-config
env:
  - name: OMNI_JWT_SECRET
    valueFrom:
      secretKeyRef: {name: {{ include "omnichannel.secretName" . }}, key: jwt-secret}
  - name: OMNI_MONGO_URL
    valueFrom:
      secretKeyRef: {name: {{ include "omnichannel.fullname" . }}-mongodb-url, key: url}
{{- end -}}

{{- define "omnichannel.podSecurity" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}
