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

{{/* Environment every omnichannel process shares: config from the ConfigMap, the token secret from its Secret. */}}
{{- define "omnichannel.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "omnichannel.fullname" . }}-config
env:
  - name: OMNI_JWT_SECRET
    valueFrom:
      secretKeyRef: {name: {{ include "omnichannel.secretName" . }}, key: jwt-secret}
{{- end -}}

{{/* A generated secret value, the same as last time when the Secret exists: (dict "existing" $secret "key" "x") */}}
{{- define "omnichannel.keep" -}}
{{- $old := dig "data" .key "" .existing -}}
{{- if $old }}{{ $old | b64dec }}{{ else }}{{ randAlphaNum 40 }}{{ end -}}
{{- end -}}

{{/*
Who calls whom over gRPC; the NetworkPolicies let exactly these through. routing asks tickets for
the customer's context and knowledge for suggestions; bot workers call routing, knowledge and
sessions; the operator reads routing's queue statistics. A `web` gateway may call every service.
*/}}
{{- define "omnichannel.grpcCallers" -}}
sessions: [worker, web]
tickets: [routing, web]
knowledge: [routing, worker, web]
routing: [worker, operator, web]
{{- end -}}

{{/* The labels of one component's pods: of this release, or the operator's bot workers (worker_deployment.py). */}}
{{- define "omnichannel.componentLabels" -}}
{{- if eq .component "worker" -}}
app.kubernetes.io/name: omnichannel-worker
app.kubernetes.io/managed-by: agentpool-operator
{{- else -}}
{{- include "omnichannel.selector" . -}}
{{- end -}}
{{- end -}}

{{/* A NetworkPolicy peer: the pods of one component (see omnichannel.componentLabels). */}}
{{- define "omnichannel.peer" -}}
podSelector:
  matchLabels:
    {{- include "omnichannel.componentLabels" . | nindent 4 }}
{{- end -}}

{{/* The grpcTls volume: the whole Secret for a server, its ca.crt alone for a client: (dict "root" $ "server" true) */}}
{{- define "omnichannel.grpcTlsVolume" -}}
- name: grpc-tls
  secret:
    secretName: {{ required "grpcTls.secretName is required when grpcTls.enabled" .root.Values.grpcTls.secretName }}
    # Readable by the pod's group (fsGroup) only.
    defaultMode: 0440
    {{- if not .server }}
    items: [{key: ca.crt, path: ca.crt}]
    {{- end }}
{{- end -}}

{{- define "omnichannel.podSecurity" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The sessions service's WebSocket chat port (its extraPorts entry named websocket), which the web gateway relays the widget's chat to. */}}
{{- define "omnichannel.chatPort" -}}
{{- $port := 0 -}}
{{- range .Values.services.sessions.extraPorts -}}
{{- if eq .name "websocket" }}{{ $port = .port }}{{ end -}}
{{- end -}}
{{- required "services.sessions.extraPorts needs the websocket port for the web gateway" (ternary "" (toString $port) (eq (int $port) 0)) -}}
{{- end -}}

{{/* The origin browsers reach the web gateway at: web.publicOrigin, else the Ingress host's (https with its TLS secret), else empty (the request's Host). */}}
{{- define "omnichannel.webOrigin" -}}
{{- $web := .Values.web -}}
{{- if $web.publicOrigin -}}
{{- $web.publicOrigin -}}
{{- else if and $web.ingress.enabled $web.ingress.host -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty $web.ingress.tlsSecretName))) $web.ingress.host -}}
{{- end -}}
{{- end -}}
