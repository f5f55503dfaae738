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
task queue, Kubernetes as the runtime, the forges and the namespaces they are limited to.
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
{{- with .Values.watchNamespaces }}
- name: SHEPHERD_WATCH_NAMESPACES
  value: {{ join "," . | quote }}
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

{{- /*
The worker's rules, verb by verb, from what its code calls (src/runtime/kubernetes/,
src/triggers/) and proven by the test suite, whose worker processes run with this account's token:
  - AgentSessions: read and watch them (the controller, the activities), patch them (the controller
    claims the shepherd.dev/prompt annotation), write their status (the mirror), create them (the
    Jira poller's sessions), and set owner references on them (finalizers, for clusters that enforce
    OwnerReferencesPermissionEnforcement);
  - AgentConfigs and AgentProviders: read (resolve); AgentProviders' status (the provider check);
  - NamespacePolicies: read (every session is checked against its namespace's policy), and
    their status patched (the namespace workflow writes the month's spending and the queue);
  - AgentTriggers: list and watch (the trigger catalog: Jira schedules, feedback);
  - each session's objects: PVC, Secret, ServiceAccount, Role, RoleBinding, NetworkPolicy and
    Job: create, read, delete; Secrets also replaced (the runner's Secret is refreshed per attempt)
    and read when a session references one (its credentials), NetworkPolicies replaced (a
    restricted session's egress policy takes the current CIDRs each attempt);
  - pods, Jobs and events: list and watch (the shared runner watcher), pod logs (the failure's log
    tail in feedback);
  - StorageClasses: read (the workspace's class is checked before the PVC is made). They are
    cluster-scoped, so this rule is in a ClusterRole in both modes.
The worker holds get and watch on AgentSessions, so it may grant exactly that to a runner's Role.
*/ -}}
{{- define "shepherd.workerRules.namespaced" -}}
- apiGroups: [shepherd.dev]
  resources: [agentsessions]
  verbs: [get, list, watch, create, patch]
- apiGroups: [shepherd.dev]
  resources: [agentsessions/status]
  verbs: [get, patch]
- apiGroups: [shepherd.dev]
  resources: [agentsessions/finalizers]
  verbs: [update]
- apiGroups: [shepherd.dev]
  resources: [agentconfigs, agentproviders, agenttriggers, namespacepolicies]
  verbs: [get, list, watch]
- apiGroups: [shepherd.dev]
  resources: [agentproviders/status]
  verbs: [update]
- apiGroups: [shepherd.dev]
  resources: [namespacepolicies/status]
  verbs: [patch]
- apiGroups: ['']
  resources: [persistentvolumeclaims, serviceaccounts]
  verbs: [get, create, delete]
- apiGroups: ['']
  resources: [secrets]
  verbs: [get, create, update, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, create, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, create, update, delete]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: ['']
  resources: [pods, events]
  verbs: [list, watch]
- apiGroups: ['']
  resources: [pods/log]
  verbs: [get]
{{- end -}}

{{- define "shepherd.workerRules.cluster" -}}
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get]
{{- end -}}

{{- define "shepherd.workerRules.allNamespaces" -}}
{{- end -}}

{{- /*
The API's rules, from src/api/ and src/runtime/kubernetes/kubernetes-backend.ts, proven by the API
tests, whose API runs with this account's token. It acts for its callers only after asking the API
server (TokenReview, SubjectAccessReview), so its own rights are what a session needs:
  - TokenReviews and SubjectAccessReviews: create (authentication and authorization of callers);
    cluster-scoped, so in a ClusterRole in both modes;
  - AgentSessions: create, read, list, watch, patch (spec.intent: stop, restart), delete; their
    status: patch (a session created stopped is marked held there at once);
  - AgentConfigs and NamespacePolicies: get (a new session is checked against its namespace's
    policy, with the AgentConfig's defaults applied, before it is created);
  - AgentTriggers: list and watch (the webhook catalog); Secrets: get, never list or watch — only
    the ones AgentTriggers name, for their webhook signing secrets;
  - pods: list, pods/log: get (session logs);
  - namespaces: list (the namespaces a caller may see), cluster-wide only: limited to
    watchNamespaces, the API offers those without asking the cluster.
It may not create Jobs, PVCs or RBAC, nor write any other status: sessions run only through the
worker.
*/ -}}
{{- define "shepherd.apiRules.namespaced" -}}
- apiGroups: [shepherd.dev]
  resources: [agentsessions]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [shepherd.dev]
  resources: [agentsessions/status]
  verbs: [patch]
- apiGroups: [shepherd.dev]
  resources: [agenttriggers]
  verbs: [list, watch]
- apiGroups: [shepherd.dev]
  resources: [agentconfigs, namespacepolicies]
  verbs: [get]
- apiGroups: ['']
  resources: [secrets]
  verbs: [get]
- apiGroups: ['']
  resources: [pods]
  verbs: [list]
- apiGroups: ['']
  resources: [pods/log]
  verbs: [get]
{{- end -}}

{{- define "shepherd.apiRules.cluster" -}}
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end -}}

{{- define "shepherd.apiRules.allNamespaces" -}}
- apiGroups: ['']
  resources: [namespaces]
  verbs: [list]
{{- end -}}

{{- /*
One component's RBAC (dict "root" . "component" "worker" or "api"), from its three rule sets
above: "namespaced" (rules on objects in a namespace), "cluster" (rules on cluster-scoped objects,
always in a ClusterRole) and "allNamespaces" (cluster-scoped rules needed only when watching every
namespace). With watchNamespaces empty, one ClusterRole holds them all; otherwise the ClusterRole
holds the "cluster" rules alone and each listed namespace gets a Role with the "namespaced" ones.
*/ -}}
{{- define "shepherd.rbac" -}}
{{- $root := .root }}
{{- $name := include "shepherd.componentName" . }}
{{- $namespaces := $root.Values.watchNamespaces }}
{{- $namespaced := include (printf "shepherd.%sRules.namespaced" .component) . }}
{{- $cluster := include (printf "shepherd.%sRules.cluster" .component) . }}
{{- $allNamespaces := include (printf "shepherd.%sRules.allNamespaces" .component) . }}
{{- $labels := include "shepherd.labels" $root }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $name }}
  labels:
    {{- $labels | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
rules:
  {{- $cluster | nindent 2 }}
  {{- if not $namespaces }}
  {{- with $allNamespaces }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- $namespaced | nindent 2 }}
  {{- end }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}
  labels:
    {{- $labels | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ $root.Release.Namespace }}
{{- range $namespaces }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ . }}
  labels:
    {{- $labels | nindent 4 }}
    app.kubernetes.io/component: {{ $.component }}
rules:
  {{- $namespaced | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ . }}
  labels:
    {{- $labels | nindent 4 }}
    app.kubernetes.io/component: {{ $.component }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ $root.Release.Namespace }}
{{- end }}
{{- end -}}
