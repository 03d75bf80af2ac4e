{{/*
Routing helpers: the upstream generation table, names, and the P/D switches shared by the
model pods and the routing objects.
*/}}

{{/* Facts of each upstream API generation (routing.generation), as JSON. One place decides the
pool apiVersion, the objective kind, the EPP image and flags and the config apiVersion, so
they cannot be mixed. Sidecar facts, read at the pinned tags:
  v1: llm-d/llm-d-router v0.10.0 pkg/sidecar/proxy/options.go (supportedKVConnectors,
      --vllm-port deprecated for --model-server-port), pkg/sidecar/constants/constants.go
  v1alpha2: llm-d/llm-d-routing-sidecar v0.2.0 cmd/llm-d-routing-sidecar/main.go (--connector
      nixl|nixlv2|lmcache, --vllm-port only)
Both sidecars log a bad connector and exit 0 (cmd/pd-sidecar/main.go in v0.10.0), so the
chart refuses one they would reject instead of rendering a restart loop. */}}
{{- define "ms.generation" -}}
{{- $generations := dict
  "v1" (dict
    "poolApiVersion" "inference.networking.k8s.io/v1"
    "poolGroup" "inference.networking.k8s.io"
    "objectiveApiVersion" "llm-d.ai/v1alpha2"
    "objectiveKind" "InferenceObjective"
    "objectiveResource" "inferenceobjectives"
    "objectiveGroup" "llm-d.ai"
    "configApiVersion" "llm-d.ai/v1alpha1"
    "eppImage" (dict "repository" "ghcr.io/llm-d/llm-d-router-endpoint-picker" "tag" "v0.10.0")
    "sidecarImage" (dict "repository" "ghcr.io/llm-d/llm-d-router-disagg-sidecar" "tag" "v0.10.0")
    "sidecarConnectorFlag" "kv-connector"
    "sidecarConnectors" (list "mooncake" "nixlv2" "offloading" "sglang" "shared-storage")
    "sidecarEnginePortFlag" "model-server-port"
    "eppFlagStyle" "kebab")
  "v1alpha2" (dict
    "poolApiVersion" "inference.networking.x-k8s.io/v1alpha2"
    "poolGroup" "inference.networking.x-k8s.io"
    "objectiveApiVersion" "inference.networking.x-k8s.io/v1alpha2"
    "objectiveKind" "InferenceModel"
    "objectiveResource" "inferencemodels"
    "objectiveGroup" "inference.networking.x-k8s.io"
    "configApiVersion" "inference.networking.x-k8s.io/v1alpha1"
    "eppImage" (dict "repository" "ghcr.io/llm-d/llm-d-inference-scheduler" "tag" "v0.2.1")
    "sidecarImage" (dict "repository" "ghcr.io/llm-d/llm-d-routing-sidecar" "tag" "v0.2.0")
    "sidecarConnectorFlag" "connector"
    "sidecarConnectors" (list "lmcache" "nixl" "nixlv2")
    "sidecarEnginePortFlag" "vllm-port"
    "eppFlagStyle" "camel")
-}}
{{- $name := (.Values.routing | default dict).generation | default "v1" -}}
{{- $generation := get $generations $name -}}
{{- if not $generation -}}
{{- fail (printf "routing.generation %q is unknown: use v1 or v1alpha2" $name) -}}
{{- end -}}
{{- toJson (set $generation "name" $name) -}}
{{- end -}}

{{/* The resolved routing values: chart defaults under every key a layer may have removed. */}}
{{- define "ms.routing" -}}
{{- $routing := dict
  "inferencePool" (dict "create" true "name" "" "failureMode" "FailClose")
  "epp" (dict "enabled" true "replicas" 1 "highAvailability" "activePassive" "profile" "auto" "nonCachedTokens" 16 "logVerbosity" 1 "secureServing" true
    "tracing" (dict "enabled" false "otlpEndpoint" "" "sampler" "parentbased_traceidratio" "samplerArg" "0.1"))
  "provider" (dict "name" "none")
  "objective" (dict "enabled" false "priority" 0 "criticality" "Standard")
  "httpRoute" (dict "enabled" true "gateway" (dict) "path" "/")
  "proxy" (dict "enabled" "auto" "enginePort" 8200 "connector" "nixlv2" "secureProxy" false)
  "kvTransfer" (dict "connector" "NixlConnector" "role" "kv_both" "sideChannelPort" 5600) -}}
{{- include "ms.merge" (list $routing (.Values.routing | default dict)) -}}
{{- toJson $routing -}}
{{- end -}}

{{/* "true" when the EPP runs leader election: more than one replica in the default
active-passive mode (one leader serves, the others stand by). In active-active mode every
replica serves (llm-d-router v0.10.0 docs/operations.md, "Scaling Modes"). */}}
{{- define "ms.eppLeaderElection" -}}
{{- $epp := (include "ms.routing" . | fromJson).epp -}}
{{- if and (gt (int $epp.replicas) 1) (ne (toString $epp.highAvailability) "activeActive") }}true{{ end -}}
{{- end -}}

{{/* "true" when the prefill role is enabled (P/D disaggregation). */}}
{{- define "ms.pdEnabled" -}}
{{- if and .Values.prefill (eq (toString (.Values.prefill | default dict).enabled) "true") }}true{{ end -}}
{{- end -}}

{{/* "true" when decode pods get the routing sidecar. */}}
{{- define "ms.proxyEnabled" -}}
{{- $enabled := ((.Values.routing | default dict).proxy | default dict).enabled -}}
{{- if kindIs "invalid" $enabled }}{{ $enabled = "auto" }}{{ end -}}
{{- if eq (toString $enabled) "auto" -}}
{{- include "ms.pdEnabled" . -}}
{{- else if eq (toString $enabled) "true" -}}
true
{{- end -}}
{{- end -}}

{{/* Name of the InferencePool (created or referenced). */}}
{{- define "ms.poolName" -}}
{{- $pool := (.Values.routing | default dict).inferencePool | default dict -}}
{{- $pool.name | default (include "ms.fullname" .) -}}
{{- end -}}

{{/* Labels the InferencePool selects: every model pod of the release, both roles, and
nothing else (the EPP pods do not carry llm-d.ai/inferenceServing). */}}
{{- define "ms.poolSelector" -}}
app.kubernetes.io/name: {{ include "ms.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
llm-d.ai/inferenceServing: "true"
{{- end -}}

{{/* The EPP's name (Deployment, Service, ServiceAccount, ConfigMap, Role). */}}
{{- define "ms.eppName" -}}
{{- include "ms.roleName" (list . "epp") -}}
{{- end -}}

{{/* Selector labels of the EPP pods. */}}
{{- define "ms.eppSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ms.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: epp
{{- end -}}

{{/* The KV transfer config of P/D as a JSON string for --kv-transfer-config. */}}
{{- define "ms.kvTransferConfig" -}}
{{- $kv := (include "ms.routing" . | fromJson).kvTransfer -}}
{{- $config := dict "kv_connector" $kv.connector "kv_role" $kv.role -}}
{{- include "ms.merge" (list $config ($kv.extraConfig | default dict)) -}}
{{- toJson $config -}}
{{- end -}}

{{/* An image block whose empty repository/tag fall back to a generation's pinned image.
Call with (list $userImage $defaultImage); returns JSON {repository, tag, digest, pullPolicy}. */}}
{{- define "ms.imageWithDefault" -}}
{{- $user := index . 0 | default dict -}}
{{- $default := index . 1 -}}
{{- toJson (dict
  "repository" ($user.repository | default $default.repository)
  "tag" ($user.tag | default $default.tag)
  "digest" ($user.digest | default "")
  "pullPolicy" ($user.pullPolicy | default "IfNotPresent")) -}}
{{- end -}}

{{/* "true" when the EPP gets a PodMonitor (monitoring.podMonitor on, its `epp` not false). */}}
{{- define "ms.eppPodMonitor" -}}
{{- $monitor := (.Values.monitoring | default dict).podMonitor | default dict -}}
{{- if and $monitor.enabled (ne (toString $monitor.epp) "false") (include "ms.routing" . | fromJson).epp.enabled -}}
true
{{- end -}}
{{- end -}}

{{/* Name of the ServiceAccount (and its token Secret) the EPP PodMonitor scrapes with when
routing.epp.metricsAuth is on. */}}
{{- define "ms.eppMetricsReader" -}}
{{- printf "%s-metrics-reader" (include "ms.eppName" .) -}}
{{- end -}}

{{/* The gateway implementation (routing.provider.name), "none" when unset. */}}
{{- define "ms.providerName" -}}
{{- (((include "ms.routing" . | fromJson).provider | default dict).name | default "none") | toString -}}
{{- end -}}
