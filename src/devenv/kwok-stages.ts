/**
 * KWOK stages for the fake node: how a pod on it moves from Pending to Running and then ends.
 * A pod tells the fake kubelet how to end through annotations, so a test can make the real Job
 * controller see any exit code, termination reason or runner result.
 */

/** Annotations a pod template can carry to script its fake run. */
export const FAKE_POD_ANNOTATIONS = {
  /** Exit code of every container when the pod ends (default "0"). */
  exitCode: 'kwok.shepherd.dev/exit-code',
  /** How long the pod runs before it ends, as a duration such as "2s" or "1h" (default "1s"). */
  duration: 'kwok.shepherd.dev/duration',
  /** Terminated reason, e.g. "OOMKilled" (default "Completed" for 0, "Error" otherwise). */
  reason: 'kwok.shepherd.dev/reason',
  /** Termination message, e.g. the runner's JSON result. */
  message: 'kwok.shepherd.dev/message',
  /** When set, the pod never starts: its containers wait with this reason (e.g. "ImagePullBackOff"). */
  waitingReason: 'kwok.shepherd.dev/waiting-reason',
  /**
   * How long a deleted pod takes to go, as a duration (default: at once), like a runner that
   * pushes its work on SIGTERM before it exits.
   */
  terminationDelay: 'kwok.shepherd.dev/termination-delay',
} as const;

/** The label and annotation that mark the node KWOK manages. */
export const FAKE_NODE = {
  name: 'kwok-node-0',
  annotation: 'kwok.x-k8s.io/node',
  annotationValue: 'fake',
} as const;

const a = FAKE_POD_ANNOTATIONS;

/** The stages, as a multi-document YAML for `kwok --config`. */
export function kwokStagesYaml(): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      addresses:
      - address: {{ NodeIP | Quote }}
        type: InternalIP
      - address: {{ NodeName | Quote }}
        type: Hostname
      allocatable:
        cpu: 1k
        memory: 1Ti
        pods: 50k
      capacity:
        cpu: 1k
        memory: 1Ti
        pods: 50k
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: fake
        containerRuntimeVersion: kwok
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
  delay:
    durationMilliseconds: 20000
    jitterDurationMilliseconds: 25000
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-waiting
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["${a.waitingReason}"]'
      operator: 'Exists'
    - key: '.status.containerStatuses'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $reason := index .metadata.annotations "${a.waitingReason}" }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        state:
          waiting:
            reason: {{ $reason | Quote }}
            message: {{ printf "fake kubelet: %s" $reason | Quote }}
      {{ end }}
      phase: Pending
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["${a.waitingReason}"]'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-complete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.spec.restartPolicy'
      operator: 'In'
      values: ['Never', 'OnFailure']
  delay:
    durationMilliseconds: 1000
    durationFrom:
      expressionFrom: '.metadata.annotations["${a.duration}"]'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := "0" }}
      {{ $reason := "" }}
      {{ $message := "" }}
      {{ with .metadata.annotations }}
      {{ with index . "${a.exitCode}" }}{{ $code = . }}{{ end }}
      {{ with index . "${a.reason}" }}{{ $reason = . }}{{ end }}
      {{ with index . "${a.message}" }}{{ $message = . }}{{ end }}
      {{ end }}
      {{ if not $reason }}{{ if eq $code "0" }}{{ $reason = "Completed" }}{{ else }}{{ $reason = "Error" }}{{ end }}{{ end }}
      {{ $started := or .status.startTime $now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: PodCompleted
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: PodCompleted
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{ $code }}
            finishedAt: {{ $now | Quote }}
            reason: {{ $reason | Quote }}
            message: {{ $message | Quote }}
            startedAt: {{ $started | Quote }}
      {{ end }}
      phase: {{ if eq $code "0" }}Succeeded{{ else }}Failed{{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  delay:
    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '.metadata.annotations["${a.terminationDelay}"]'
  next:
    finalizers:
      empty: true
    delete: true
`;
}
