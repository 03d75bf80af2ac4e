{{/*
The pod template shared by every model workload: both roles, as a Deployment's pods or as
a LeaderWorkerSet's leader and worker templates. Call with
(dict "root" $ "role" $roleJSON ["variant" "leader"|"worker"]) where $roleJSON is "ms.role"
parsed with fromJson. Role-specific values come only from that resolved role; a worker runs
the worker command line and, unless every pod serves its own ranks (httpPerRank), serves no
HTTP and has no HTTP probes.
*/}}
{{- define "ms.podTemplate" -}}
{{- $root := .root -}}
{{- $r := .role -}}
{{- $worker := eq (.variant | default "") "worker" -}}
{{- $serving := or (not $worker) $r.workersServe -}}
{{- $pod := $r.pod -}}
{{- $engine := $r.engine -}}
{{- $image := $engine.image | default dict -}}
metadata:
  labels:
    {{- include "ms.selectorLabels" (list $root $r.role) | nindent 4 }}
    app.kubernetes.io/component: {{ $r.role }}
    llm-d.ai/inferenceServing: {{ ternary "true" "false" $serving | quote }}
    llm-d.ai/model: {{ include "ms.labelValue" $r.model.name | quote }}
    {{- with include "ms.compact" ($pod.podLabels | default dict) | fromJson }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $annotations := include "ms.compact" ($pod.podAnnotations | default dict) | fromJson }}
  {{- with include "ms.compact" ($pod.files | default dict) | fromJson }}
  {{- $_ := set $annotations "checksum/files" (toJson . | sha256sum) }}
  {{- end }}
  {{- /* several pool targetPorts: tell the EPP which of them this pod serves */}}
  {{- if and $serving (gt (len (include "ms.poolTargetPorts" $root | fromJsonArray)) 1) }}
  {{- $active := list }}
  {{- range $r.httpPorts }}{{ $active = append $active (toString (int .)) }}{{ end }}
  {{- $_ := set $annotations "llm-d.ai/active-ports" (join "," $active) }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "ms.serviceAccountName" $root | quote }}
  automountServiceAccountToken: {{ ($root.Values.serviceAccount | default dict).automountToken | default false }}
  {{- with $pod.terminationGracePeriodSeconds }}
  terminationGracePeriodSeconds: {{ int . }}
  {{- end }}
  {{- with $pod.priorityClassName }}
  priorityClassName: {{ . | quote }}
  {{- end }}
  {{- with $pod.schedulerName }}
  schedulerName: {{ . | quote }}
  {{- end }}
  {{- with $pod.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $pullSecrets := list }}
  {{- range $name, $use := $pod.imagePullSecrets }}{{ if $use }}{{ $pullSecrets = append $pullSecrets (dict "name" $name) }}{{ end }}{{ end }}
  {{- with $pullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "ms.compact" ($pod.nodeSelector | default dict) | fromJson }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "ms.affinity" $pod | fromJson }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $tolerations := list }}
  {{- range $name, $toleration := $pod.tolerations }}{{ if $toleration }}{{ $tolerations = append $tolerations (include "ms.compact" $toleration | fromJson) }}{{ end }}{{ end }}
  {{- with $tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $r.dra.podClaims }}
  resourceClaims:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $initContainers := include "ms.namedList" $pod.initContainers | fromJsonArray }}
  {{- with $r.lora.downloader }}
  {{- $initContainers = prepend $initContainers (include "ms.loraDownloader" (dict "root" $root "role" $r) | fromJson) }}
  {{- end }}
  {{- if and $r.proxy $serving }}
  {{- $initContainers = prepend $initContainers (include "ms.routingSidecar" (dict "root" $root "role" $r) | fromJson) }}
  {{- end }}
  {{- with $initContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ $engine.type | default "vllm" }}
      image: {{ include "ms.image" (list $image (printf "engine.image (or %s.engine.image)" $r.role)) | quote }}
      imagePullPolicy: {{ $image.pullPolicy | default "IfNotPresent" }}
      {{- with ternary $r.workerCommand $r.command $worker }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with ternary $r.workerArgs $r.args $worker }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $r.env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        {{- range $r.enginePorts }}
        - name: {{ .name }}
          containerPort: {{ int .containerPort }}
          protocol: {{ .protocol }}
        {{- end }}
      {{- if $serving }}
      {{- with include "ms.probes" (dict "probes" $pod.probes "port" $r.portName "ports" $r.engineHttpPorts) | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- end }}
      {{- $resources := deepCopy ($r.resources | default dict) }}
      {{- with $r.dra.containerClaims }}{{ $_ := set $resources "claims" . }}{{ end }}
      {{- with $resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pod.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - {{ toYaml $r.model.mount | nindent 10 | trim }}
        {{- if ($pod.shm | default dict).enabled }}
        - name: shm
          mountPath: /dev/shm
        {{- end }}
        {{- range $r.lora.mounts }}
        - {{ toYaml . | nindent 10 | trim }}
        {{- end }}
        {{- if include "ms.compact" ($pod.files | default dict) | fromJson }}
        - name: ms-files
          mountPath: {{ $pod.filesMountPath | default "/etc/modelservice" | quote }}
          readOnly: true
        {{- end }}
        {{- range $name, $mount := $pod.volumeMounts }}
        {{- if $mount }}
        {{- if not $mount.mountPath }}
        {{- fail (printf "%s.volumeMounts.%s.mountPath is empty: say where the volume goes in the engine container" $r.role $name) }}
        {{- end }}
        {{- if not (or (get ($pod.volumes | default dict) $name) (has $name (list "model-storage" "shm"))) }}
        {{- fail (printf "%s.volumeMounts.%s mounts a volume no layer defines: add pod.volumes.%s (or %s.volumes.%s)" $r.role $name $name $r.role $name) }}
        {{- end }}
        - {{ toYaml (merge (dict "name" $name) (include "ms.compact" $mount | fromJson)) | nindent 10 | trim }}
        {{- end }}
        {{- end }}
    {{- with include "ms.namedList" $pod.sidecars | fromJsonArray }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumes:
    - {{ toYaml $r.model.volume | nindent 6 | trim }}
    {{- with $pod.shm }}
    {{- if .enabled }}
    - name: shm
      emptyDir:
        medium: Memory
        {{- with .sizeLimit }}
        sizeLimit: {{ . | quote }}
        {{- end }}
    {{- end }}
    {{- end }}
    {{- range $r.lora.volumes }}
    - {{ toYaml . | nindent 6 | trim }}
    {{- end }}
    {{- if include "ms.compact" ($pod.files | default dict) | fromJson }}
    - name: ms-files
      configMap:
        name: {{ printf "%s-files" $r.name | quote }}
    {{- end }}
    {{- range $name, $volume := $pod.volumes }}
    {{- if $volume }}
    - {{ toYaml (merge (dict "name" $name) (include "ms.compact" $volume | fromJson)) | nindent 6 | trim }}
    {{- end }}
    {{- end }}
{{- end -}}

{{/* Image reference from {repository, tag, digest}; call with (list $image "values.key") so
an incomplete image names the key to fix. */}}
{{- define "ms.image" -}}
{{- $image := index . 0 | default dict -}}
{{- $key := index . 1 -}}
{{- if not $image.repository -}}
{{- fail (printf "%s.repository is empty: name the image (registry/repository, without the tag)" $key) -}}
{{- end -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else if not (toString ($image.tag | default "")) -}}
{{- fail (printf "%s.tag is empty: pin a tag (never latest) or set %s.digest" $key $key) -}}
{{- else if eq (toString $image.tag) "latest" -}}
{{- fail (printf "%s.tag is latest, which moves under a running release (its pods would run different builds): pin a release tag or set %s.digest" $key $key) -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (toString $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* A map keyed by name as a list of objects with that name (null entries dropped), JSON. */}}
{{- define "ms.namedList" -}}
{{- $items := list -}}
{{- range $name, $item := . -}}
{{- if $item }}{{ $items = append $items (merge (dict "name" $name) (include "ms.compact" $item | fromJson)) }}{{ end -}}
{{- end -}}
{{- toJson $items -}}
{{- end -}}

{{/* Pod affinity: the user's `affinity` with the accelerator label added as a required node
affinity expression (ANDed into every node selector term). JSON. */}}
{{- define "ms.affinity" -}}
{{- $affinity := deepCopy (.affinity | default dict) -}}
{{- $acc := .accelerator | default dict -}}
{{- if and $acc.labelKey $acc.labelValues -}}
{{- $expr := dict "key" $acc.labelKey "operator" "In" "values" $acc.labelValues -}}
{{- $nodeAffinity := $affinity.nodeAffinity | default dict -}}
{{- $required := $nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution | default dict -}}
{{- $terms := list -}}
{{- range $required.nodeSelectorTerms | default (list (dict)) -}}
{{- $terms = append $terms (set . "matchExpressions" (append (.matchExpressions | default list) $expr)) -}}
{{- end -}}
{{- $_ := set $required "nodeSelectorTerms" $terms -}}
{{- $_ := set $nodeAffinity "requiredDuringSchedulingIgnoredDuringExecution" $required -}}
{{- $_ := set $affinity "nodeAffinity" $nodeAffinity -}}
{{- else if and $acc.labelValues (not $acc.labelKey) -}}
{{- fail "accelerator.labelValues is set but accelerator.labelKey is empty: name the node label that holds the accelerator model, e.g. nvidia.com/gpu.product" -}}
{{- end -}}
{{- toJson $affinity -}}
{{- end -}}

{{/* Startup, readiness and liveness probes over HTTP on the engine port. Call with
(dict "probes" values "port" portName ["ports" engine ports]); a probe's keys fall back to the
chart defaults when a layer removed them. With several engine ports (one vLLM per rank) a
probe is an exec of the engine image's python3 that GETs the path on every port, so the pod
is ready (and alive) only when every rank is. */}}
{{- define "ms.probes" -}}
{{- $defaults := dict
  "startup" (dict "enabled" true "path" "/health" "periodSeconds" 10 "timeoutSeconds" 5 "budgetSeconds" 1800)
  "readiness" (dict "enabled" true "path" "/v1/models" "periodSeconds" 5 "timeoutSeconds" 5 "failureThreshold" 3)
  "liveness" (dict "enabled" true "path" "/health" "periodSeconds" 10 "timeoutSeconds" 5 "failureThreshold" 3) -}}
{{- $probes := .probes | default dict -}}
{{- $port := .port -}}
{{- $ports := .ports | default list -}}
{{- range $kind := list "startup" "readiness" "liveness" -}}
{{- $probe := get $defaults $kind -}}
{{- include "ms.merge" (list $probe (get $probes $kind | default dict)) -}}
{{- if $probe.enabled }}
{{ $kind }}Probe:
  {{- if gt (len $ports) 1 }}
  exec:
    command:
      - python3
      - -c
      - {{ printf "import sys, urllib.request as r; [r.urlopen('http://127.0.0.1:%%s%%s' %% (p, sys.argv[1]), timeout=%d).close() for p in sys.argv[2:]]" (int $probe.timeoutSeconds) | quote }}
      - {{ $probe.path | quote }}
      {{- range $ports }}
      - {{ int . | toString | quote }}
      {{- end }}
  {{- else }}
  httpGet:
    path: {{ $probe.path }}
    port: {{ $port }}
  {{- end }}
  periodSeconds: {{ int $probe.periodSeconds }}
  timeoutSeconds: {{ int $probe.timeoutSeconds }}
  {{- if eq $kind "startup" }}
  failureThreshold: {{ div (add $probe.budgetSeconds $probe.periodSeconds -1) $probe.periodSeconds }}
  {{- else }}
  failureThreshold: {{ int $probe.failureThreshold }}
  {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The routing sidecar of decode pods in P/D: a native sidecar (init container with
restartPolicy Always) on the Service port, forwarding to vLLM on the moved port. JSON. */}}
{{- define "ms.routingSidecar" -}}
{{- $root := .root -}}
{{- $r := .role -}}
{{- $generation := include "ms.generation" $root | fromJson -}}
{{- $proxy := (include "ms.routing" $root | fromJson).proxy -}}
{{- $image := include "ms.imageWithDefault" (list $proxy.image $generation.sidecarImage) | fromJson -}}
{{- if not (has $proxy.connector $generation.sidecarConnectors) -}}
{{- fail (printf "routing.proxy.connector %q is not accepted by the routing sidecar of generation %s (%s:%s accepts: %s; it would exit at start while the pod looks ready): pick one of those, or switch routing.generation" (toString $proxy.connector) $generation.name $generation.sidecarImage.repository $generation.sidecarImage.tag (join ", " $generation.sidecarConnectors)) -}}
{{- end -}}
{{- $args := list
  (printf "--port=%d" (int $r.servicePort))
  (printf "--%s=%d" $generation.sidecarEnginePortFlag (int $r.port))
  (printf "--%s=%s" $generation.sidecarConnectorFlag $proxy.connector)
  (printf "--secure-proxy=%t" (eq (toString $proxy.secureProxy) "true")) -}}
{{- if gt (int $r.ranks) 1 }}{{ $args = append $args (printf "--data-parallel-size=%d" (int $r.ranks)) }}{{ end -}}
{{- range $proxy.extraArgs | default list }}{{ $args = append $args (toString .) }}{{ end -}}
{{- $container := dict
  "name" "routing-proxy"
  "image" (include "ms.image" (list $image "routing.proxy.image"))
  "imagePullPolicy" ($image.pullPolicy | default "IfNotPresent")
  "restartPolicy" "Always"
  "args" $args
  "ports" $r.sidecarPorts
  "securityContext" (dict "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "capabilities" (dict "drop" (list "ALL"))) -}}
{{- with include "ms.compact" ($proxy.resources | default dict) | fromJson }}{{ $_ := set $container "resources" . }}{{ end -}}
{{- toJson $container -}}
{{- end -}}

{{/* The init container that downloads hf:// LoRA adapters into /lora before the engine
starts (python3 + huggingface_hub from the downloader image, default the engine image). */}}
{{- define "ms.loraDownloader" -}}
{{- $root := .root -}}
{{- $r := .role -}}
{{- $engineImage := $r.engine.image | default dict -}}
{{- $image := include "ms.imageWithDefault" (list (($root.Values.lora | default dict).downloader | default dict).image (dict "repository" $engineImage.repository "tag" (toString $engineImage.tag))) | fromJson -}}
{{- $env := list (dict "name" "HF_HOME" "value" "/lora/.cache") -}}
{{- with ($root.Values.model | default dict).authSecretName -}}
{{- $env = append $env (dict "name" "HF_TOKEN" "valueFrom" (dict "secretKeyRef" (dict "name" . "key" (($root.Values.model | default dict).authSecretKey | default "HF_TOKEN")))) -}}
{{- end -}}
{{- $container := dict
  "name" "lora-download"
  "image" (include "ms.image" (list $image "lora.downloader.image"))
  "imagePullPolicy" ($image.pullPolicy | default "IfNotPresent")
  "command" (list "python3" "-c" $r.lora.downloader.script)
  "env" $env
  "volumeMounts" (list (dict "name" "lora-downloads" "mountPath" "/lora")) -}}
{{- with $r.pod.securityContext }}{{ $_ := set $container "securityContext" . }}{{ end -}}
{{- $resources := dict "requests" (dict "cpu" "100m" "memory" "256Mi") "limits" (dict "memory" "2Gi") -}}
{{- include "ms.merge" (list $resources ((($root.Values.lora | default dict).downloader | default dict).resources | default dict)) -}}
{{- with include "ms.compact" $resources | fromJson }}{{ $_ := set $container "resources" . }}{{ end -}}
{{- toJson $container -}}
{{- end -}}
