{{/*
Precise prefix-cache-aware routing (routing.epp.profile precise-prefix-cache): vLLM publishes
KV-cache events over ZMQ and the EPP's precise-prefix-cache-producer indexes them. Facts read
from llm-d/llm-d-router v0.10.0 (deploy/config/epp-precise-prefix-cache-config.yaml,
pkg/epp/framework/plugins/requestcontrol/dataproducer/{preciseprefixcache,tokenizer},
apix/config/v1alpha1/endpointpickerconfig_types.go), its llm-d-kv-cache module (kvevents.Config,
kvblock.TokenProcessorConfig) and vLLM's KVEventsConfig.

"ms.kvEvents" returns JSON {enabled, mode, central, eppAddress, port, blockSize, hashSeed,
speculativeIndexing, tokenizer{backend, port, model, image, resources}} with the chart
defaults filled in.

Two ways for the events to reach the EPP (llm-d-router v0.10.0 preciseprefixcache/producer.go
and pkg/kvevents/zmq_subscriber.go; vLLM distributed/kv_events.py ZmqEventPublisher):
- podDiscovery: every engine binds tcp://*:<port> (vLLM binds an endpoint with `*`) and the
  EPP dials each pod it discovers, at port + data-parallel rank;
- central: the EPP binds its kvEventsConfig.zmqEndpoint tcp://*:<port> and every engine
  connects to the EPP Service at that port (vLLM connects to an endpoint with a host). vLLM
  adds the data-parallel rank to the port, so ranks beyond the first would miss the one
  socket, and the Service hands each engine to one EPP replica, so a second replica would
  see part of the events: central mode needs one EPP replica and one rank per pod.
*/}}
{{- define "ms.kvEvents" -}}
{{- $root := . -}}
{{- $epp := (include "ms.routing" $root | fromJson).epp -}}
{{- $cfg := dict "mode" "podDiscovery" "port" 5557 "blockSize" 64 "hashSeed" "" "speculativeIndexing" false
  "tokenizer" (dict "backend" "vllm" "port" 8000 "model" "" "image" dict "resources" (dict "requests" (dict "cpu" "1" "memory" "2Gi") "limits" (dict "memory" "4Gi"))) -}}
{{- include "ms.merge" (list $cfg ($epp.precisePrefixCache | default dict)) -}}
{{- $_ := set $cfg "enabled" (and $epp.enabled (eq (toString $epp.profile) "precise-prefix-cache") (not $epp.config)) -}}
{{- $_ = set $cfg "central" (and $cfg.enabled (eq (toString $cfg.mode) "central")) -}}
{{- $_ = set $cfg "eppAddress" (printf "%s.%s.svc" (include "ms.eppName" $root) $root.Release.Namespace) -}}
{{- if and $cfg.central (ne (int $epp.replicas) 1) -}}
{{- fail (printf "routing.epp.precisePrefixCache.mode central: each engine connects to one EPP replica through the Service, so %d replicas would each index part of the KV-cache events: use 1 replica, or mode podDiscovery (every replica dials every pod)" (int $epp.replicas)) -}}
{{- end -}}
{{- toJson $cfg -}}
{{- end -}}

{{/* vLLM's --kv-events-config JSON for a role: publish over ZMQ, bound on every pod address
(podDiscovery: the EPP dials each pod) or connected to the EPP Service (central), topic
kv@<pod IP>:<engine port>@<model>. $(POD_IP) is expanded by Kubernetes from the container
env. Call with (list $kv $port $model [endpointPort]); endpointPort (a string, default the
configured port) is what a per-rank launch script puts there. vLLM adds the global
data-parallel rank to the endpoint port. */}}
{{- define "ms.kvEventsConfig" -}}
{{- $kv := index . 0 -}}
{{- $endpointPort := toString (int $kv.port) -}}
{{- if gt (len .) 3 }}{{ $endpointPort = index . 3 }}{{ end -}}
{{- toJson (dict
  "enable_kv_cache_events" true
  "publisher" "zmq"
  "endpoint" (printf "tcp://%s:%s" (ternary $kv.eppAddress "*" $kv.central) $endpointPort)
  "topic" (printf "kv@$(POD_IP):%d@%s" (int (index . 1)) (index . 2))) -}}
{{- end -}}

{{/* The plugins, scheduling profile and data layer of the precise-prefix-cache profile, as
the JSON shape of "ms.eppProfileSpec". */}}
{{- define "ms.preciseProfileSpec" -}}
{{- $root := . -}}
{{- $kv := include "ms.kvEvents" $root | fromJson -}}
{{- $generation := include "ms.generation" $root | fromJson -}}
{{- if eq $generation.name "v1alpha2" -}}
{{- fail "routing.epp.profile precise-prefix-cache needs routing.generation v1 (the llm-d-router v0.10 EPP): the v1alpha2-generation EPP has no precise-prefix-cache-producer" -}}
{{- end -}}
{{- if include "ms.pdEnabled" $root -}}
{{- fail "routing.epp.profile precise-prefix-cache has no prefill/decode profiles, so with prefill enabled every request would stay decode-only: use profile pd (or auto), or disable prefill" -}}
{{- end -}}
{{- $tokenizer := dict "type" "token-producer" -}}
{{- if eq $kv.tokenizer.backend "vllm" -}}
{{- $_ := set $tokenizer "parameters" (dict "modelName" (include "ms.tokenizerModel" $root) "vllm" (dict "url" (printf "http://localhost:%d" (int $kv.tokenizer.port)))) -}}
{{- end -}}
{{- $processor := dict "blockSizeTokens" (int $kv.blockSize) -}}
{{- with $kv.hashSeed }}{{ $_ := set $processor "hashSeed" (toString .) }}{{ end -}}
{{- $events := dict "topicFilter" "kv@" "discoverPods" true "podDiscoveryConfig" (dict "socketPort" (int $kv.port)) -}}
{{- if $kv.central }}{{ $events = dict "topicFilter" "kv@" "zmqEndpoint" (printf "tcp://*:%d" (int $kv.port)) }}{{ end -}}
{{- $producer := dict "tokenProcessorConfig" $processor "kvEventsConfig" $events -}}
{{- if $kv.speculativeIndexing }}{{ $_ := set $producer "speculativeIndexing" true }}{{ end -}}
{{- toJson (dict
  "plugins" (list
    (list "token-producer" $tokenizer)
    (list "endpoint-notification-source" (dict "type" "endpoint-notification-source"))
    (list "precise-prefix-cache-producer" (dict "type" "precise-prefix-cache-producer" "parameters" $producer))
    (list "prefix-cache-scorer" (dict "type" "prefix-cache-scorer" "parameters" (dict "prefixMatchInfoProducerName" "precise-prefix-cache-producer")))
    (list "queue-scorer" (dict "type" "queue-scorer"))
    (list "kv-cache-utilization-scorer" (dict "type" "kv-cache-utilization-scorer"))
    (list "max-score-picker" (dict "type" "max-score-picker"))
    (list "single-profile-handler" (dict "type" "single-profile-handler")))
  "profiles" (list (list "default" (list
    (list "prefix-cache-scorer" 3) (list "queue-scorer" 2) (list "kv-cache-utilization-scorer" 2)
    (list "max-score-picker" 0))))
  "dataLayer" (dict "sources" (list (dict "pluginRef" "endpoint-notification-source" "extractors" (list (dict "pluginRef" "precise-prefix-cache-producer")))))) -}}
{{- end -}}

{{/* The Hugging Face repo whose tokenizer the render sidecar loads. */}}
{{- define "ms.tokenizerModel" -}}
{{- $kv := include "ms.kvEvents" . | fromJson -}}
{{- $model := include "ms.model" . | fromJson -}}
{{- $name := $kv.tokenizer.model | default $model.hfRepo -}}
{{- if not $name -}}
{{- fail "routing.epp.precisePrefixCache.tokenizer.model is empty and model.uri is not an hf:// model: name the Hugging Face repo whose tokenizer the render sidecar loads (e.g. Qwen/Qwen3-8B), or set tokenizer.backend estimate" -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* The tokenizer render sidecar of the EPP pod (backend vllm): vLLM's render server on
localhost, which the token-producer calls. JSON container. */}}
{{- define "ms.tokenizerSidecar" -}}
{{- $root := . -}}
{{- $kv := include "ms.kvEvents" $root | fromJson -}}
{{- /* vLLM's GPU-less render server (`vllm launch render`) is not in vLLM 0.17.1, the vLLM of
the llm-d v0.6.0 engine images (its CLI has no `launch` subcommand), so the default is an
upstream vLLM image that has it. */ -}}
{{- $image := include "ms.imageWithDefault" (list $kv.tokenizer.image (dict "repository" "vllm/vllm-openai" "tag" "v0.31.0")) | fromJson -}}
{{- $env := list (dict "name" "HF_HOME" "value" "/cache") -}}
{{- with ($root.Values.model | default dict).authSecretName -}}
{{- $env = append $env (dict "name" "HF_TOKEN" "valueFrom" (dict "secretKeyRef" (dict "name" . "key" (($root.Values.model | default dict).authSecretKey | default "HF_TOKEN")))) -}}
{{- end -}}
{{- $container := dict
  "name" "tokenizer"
  "image" (include "ms.image" (list $image "routing.epp.precisePrefixCache.tokenizer.image"))
  "imagePullPolicy" ($image.pullPolicy | default "IfNotPresent")
  "command" (list "vllm" "launch" "render")
  "args" (list (include "ms.tokenizerModel" $root) (printf "--port=%d" (int $kv.tokenizer.port)))
  "env" $env
  "ports" (list (dict "name" "tokenizer" "containerPort" (int $kv.tokenizer.port) "protocol" "TCP"))
  "volumeMounts" (list (dict "name" "tokenizer-cache" "mountPath" "/cache"))
  "securityContext" (dict "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")))
-}}
{{- with include "ms.compact" ($kv.tokenizer.resources | default dict) | fromJson }}{{ $_ := set $container "resources" . }}{{ end -}}
{{- toJson $container -}}
{{- end -}}
