{{/*
Shared names, labels and pod pieces of the Shepherd chart. Every object's name starts with the
release's full name, so two releases (or a release and a hand-made object) never collide.
*/}}

{{/* The release's full name: the release name, with the chart name after it unless it already holds it; at most 63 characters. */}}
{{- define "shepherd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one component's objects (worker, api), e.g. shepherd-worker. */}}
{{- define "shepherd.componentName" -}}
{{- printf "%s-%s" (include "shepherd.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object: the recommended app.kubernetes.io set plus commonLabels. */}}
{{- define "shepherd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The selector of one component's pods; never changes between versions (a Deployment's selector is immutable). */}}
{{- define "shepherd.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The Shepherd image reference: the tag defaults to the chart's appVersion. */}}
{{- define "shepherd.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Whether Temporal is reached with TLS: asked for, or implied by an API key. */}}
{{- define "shepherd.temporalTls" -}}
{{- if or .Values.temporal.tls.enabled .Values.temporal.apiKey.secretName -}}true{{- end -}}
{{- end -}}

{{/*
The environment both processes read: the standard Temporal client variables (the certificate files
come from the volume "temporal-tls", the API key from its Secret, never from the values file), the
task queue and Kubernetes as the runtime.
*/}}
{{- define "shepherd.temporalEnv" -}}
- name: SHEPHERD_RUNTIME
  value: kubernetes
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: SHEPHERD_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- if include "shepherd.temporalTls" . }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.temporal.tls.secretName }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/shepherd/temporal-tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/shepherd/temporal-tls/tls.key
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/shepherd/temporal-tls/ca.crt
{{- end }}
{{- if .Values.temporal.apiKey.secretName }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.temporal.apiKey.secretName | quote }}
      key: {{ .Values.temporal.apiKey.key | quote }}
{{- end }}
{{- with .Values.forges }}
- name: SHEPHERD_FORGES
  value: {{ toJson . | quote }}
{{- end }}
{{- end -}}

{{/* The TLS Secret's volume, when there is one (items marked optional: mTLS needs the pair, a private CA only ca.crt). */}}
{{- define "shepherd.temporalTlsVolume" -}}
{{- if .Values.temporal.tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.secretName | quote }}
    optional: false
{{- end }}
{{- end -}}

{{- define "shepherd.temporalTlsMount" -}}
{{- if .Values.temporal.tls.secretName }}
- name: temporal-tls
  mountPath: /etc/shepherd/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* The restricted Pod Security Standard, for the pod and its container. */}}
{{- define "shepherd.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shepherd.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Spread one component's replicas over nodes and zones, preferring but not requiring it (a one-node cluster still schedules). */}}
{{- define "shepherd.topologySpread" -}}
{{- if .values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "shepherd.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "shepherd.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* Scheduling and extras one component's pod spec takes from its values. */}}
{{- define "shepherd.podPlacement" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end -}}
