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

{{/* The Secret with the SMSC account's password (key `password`): yours, or the chart's. */}}
{{- define "omnichannel.smscSecretName" -}}
{{- .Values.sms.existingSecret | default (printf "%s-smsc" (include "omnichannel.fullname" .)) -}}
{{- end -}}

{{/* Environment every omnichannel process shares: the ConfigMap (addresses, token issuer and its
public keys; no secret). Each process adds its own secrets by reference. */}}
{{- define "omnichannel.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "omnichannel.fullname" . }}-config
{{- end -}}

{{/* The Secret with the platform clients' secrets at the token endpoint (keys routing, operator, worker). */}}
{{- define "omnichannel.clientSecretName" -}}
{{- .Values.auth.existingClientSecret | default (printf "%s-token-clients" (include "omnichannel.fullname" .)) -}}
{{- end -}}

{{/* The issuer's `iss`, JWKS and token endpoint: the chart's own issuer, or the identity provider's. */}}
{{- define "omnichannel.tokenIssuer" -}}
{{- if .Values.issuer.enabled }}{{ .Values.auth.issuer | default "omnichannel" }}{{ else }}{{ .Values.auth.issuer }}{{ end -}}
{{- end -}}
{{- define "omnichannel.issuerUrl" -}}
{{- printf "http://%s-issuer:%d" (include "omnichannel.fullname" .) (int .Values.issuer.port) -}}
{{- end -}}

{{/* A generated secret value, the same as last time when the Secret exists: (dict "existing" $secret "key" "x") */}}
{{- define "omnichannel.keep" -}}
{{- $old := dig "data" .key "" .existing -}}
{{- if $old }}{{ $old | b64dec }}{{ else }}{{ randAlphaNum 40 }}{{ end -}}
{{- end -}}

{{/*
Who calls whom over gRPC; the NetworkPolicies let exactly these through. routing asks tickets for
the customer's context and knowledge for suggestions, sessions asks tickets for a caller's
accessibility needs; bot workers call routing, knowledge and
sessions; the operator and supervision read routing's queues and statistics. A `web` gateway may
call every service.
*/}}
{{- define "omnichannel.grpcCallers" -}}
sessions: [worker, web, reports]
tickets: [routing, sessions, web]
knowledge: [routing, worker, web]
routing: [worker, operator, supervision, web]
reports: [web]
supervision: [web]
{{- end -}}

{{/*
Egress to whoever issues tokens and publishes their keys: the chart's issuer (its port), else the
identity provider (networkPolicy.egress.identityProvider). Every service (JWKS), routing, the
operator and the bot workers (tokens) need it.
*/}}
{{- define "omnichannel.issuerEgress" -}}
{{- if .Values.issuer.enabled }}
- ports: [{port: {{ .Values.issuer.port }}, protocol: TCP}]
  to:
    - {{ include "omnichannel.peer" (dict "root" . "component" "issuer") | indent 6 | trim }}
{{- else }}
{{- toYaml .Values.networkPolicy.egress.identityProvider | nindent 0 }}
{{- end }}
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

{{/* The sessions service's WebSocket chat port (its extraPorts entry named websocket): the web gateway relays the widget's chat there, and sessions publishes its chat tokens' public keys there. */}}
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
