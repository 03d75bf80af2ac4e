{{/*
One role (decode or prefill) fully resolved: `pod` deep-merged under the role, `engine`
under the role's `engine`, accelerators counted, the engine command line built.
Call with (list $ "decode"); returns JSON:
  role, name, enabled, replicas, parallelism, pod (merged pod settings), engine (merged),
  acceleratorCount, resources, dra (claims, see _dra.tpl), command, args (single pod or multi-node leader), workerCommand,
  workerArgs (multi-node workers), multiNode, lora, autoscaling, podDisruptionBudget, env,
  port (vLLM's), portName, servicePort (what clients reach), proxy (routing sidecar in front),
  pd (prefill/decode disaggregation on), sideChannelPort, perRank/ranks (HTTP ports per pod,
  _ranks.tpl), httpPorts (what the pool and Service reach), enginePorts/sidecarPorts (container
  ports), engineHttpPorts (vLLM's listen ports, probed), workersServe (LWS workers serve HTTP)
*/}}

{{- define "ms.role" -}}
{{- /* Memoized per render: every template that needs a role (workloads, Services, HPA, PDB,
PodMonitor, pool, NOTES) shares one computation through a cache on the root context. */ -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
{{- if not (hasKey $root "msRoleCache") }}{{ $_ := set $root "msRoleCache" dict }}{{ end -}}
{{- $cache := get $root "msRoleCache" -}}
{{- if not (hasKey $cache $role) -}}
{{- $_ := set $cache $role (include "ms.resolveRole" .) -}}
{{- end -}}
{{- get $cache $role -}}
{{- end -}}

{{- define "ms.resolveRole" -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
{{- $values := get $root.Values $role | default dict -}}
{{- $ctx := dict -}}
{{- include "ms.fillContext" (list $root $ctx) -}}
{{- $model := include "ms.model" $root | fromJson -}}

{{- /* pod settings: chart/preset/model `pod` block, then the role's own keys */ -}}
{{- $pod := deepCopy ($root.Values.pod | default dict) -}}
{{- $roleOwn := omit $values "enabled" "replicas" "parallelism" "engine" "service" "strategy" "autoscaling" "podDisruptionBudget" "multiNode" -}}
{{- include "ms.merge" (list $pod $roleOwn) -}}
{{- $engine := deepCopy ($root.Values.engine | default dict) -}}
{{- include "ms.merge" (list $engine ($values.engine | default dict)) -}}

{{- /* parallelism */ -}}
{{- $par := merge (deepCopy ($values.parallelism | default dict)) (dict "tensor" 1 "pipeline" 1 "data" 1 "dataLocal" 1 "expert" false "httpPerRank" false) -}}
{{- $tp := int $par.tensor -}}
{{- $pp := int $par.pipeline -}}
{{- $dp := int $par.data -}}
{{- $dpLocal := int $par.dataLocal -}}
{{- $multi := include "ms.multiNode" (list $root $role $par) | fromJson -}}
{{- $lora := include "ms.lora" $root | fromJson -}}

{{- /* accelerators */ -}}
{{- $acc := $pod.accelerator | default dict -}}
{{- $accType := $acc.type | default "nvidia" -}}
{{- $resourceName := $acc.resourceName | default (include "ms.acceleratorFact" (list $root $accType "resource")) -}}
{{- $count := int $multi.perPod -}}
{{- if not (kindIs "invalid" $acc.count) -}}
{{- $count = int $acc.count -}}
{{- end -}}
{{- if and (not $multi.enabled) $resourceName (not (kindIs "invalid" $acc.perNode)) (gt $count (int $acc.perNode)) -}}
{{- fail (printf "%s.parallelism: one pod needs %d accelerators but a node has %d (accelerator.perNode, from the preset), so it could never be scheduled: lower tensor x pipeline x dataLocal, or spread the role over nodes with %s.multiNode.enabled: true" $role $count (int $acc.perNode) $role) -}}
{{- end -}}
{{- $resources := include "ms.compact" ($pod.resources | default dict) | fromJson -}}
{{- $requests := $resources.requests | default dict -}}
{{- $limits := $resources.limits | default dict -}}
{{- $dra := include "ms.dra" (dict "root" $root "role" $role "name" (include "ms.roleName" (list $root $role)) "pod" $pod "count" $count) | fromJson -}}
{{- if and $dra.enabled $resourceName (or (hasKey $limits $resourceName) (hasKey $requests $resourceName)) -}}
{{- fail (printf "%s: resources request %s and accelerator.dra.enabled is true, so the pod would take accelerators twice (device plugin and claim): remove %s from resources (or turn accelerator.dra off)" $role $resourceName $resourceName) -}}
{{- end -}}
{{- if and $resourceName (not $dra.enabled) (gt (int $count) 0) (not (hasKey $limits $resourceName)) (not (hasKey $requests $resourceName)) -}}
{{- $_ := set $limits $resourceName (int $count) -}}
{{- $_ := set $requests $resourceName (int $count) -}}
{{- end -}}
{{- $offloadValues := include "ms.kvOffload" $root | fromJson -}}
{{- $memoryLimit := toString (get $limits "memory" | default "") -}}
{{- if and $offloadValues.enabled (regexMatch "^[0-9]+Gi$" $memoryLimit) (le (int (trimSuffix "Gi" $memoryLimit)) (int $offloadValues.cpuGiB)) -}}
{{- fail (printf "%s: resources.limits.memory %s cannot hold kvOffload.cpuGiB (%dGi of host KV cache) plus vLLM itself: the engine would be OOM-killed once the tier fills; raise the memory limit (and request) above %dGi or lower cpuGiB" $role $memoryLimit (int $offloadValues.cpuGiB) (int $offloadValues.cpuGiB)) -}}
{{- end -}}
{{- $resources = dict -}}
{{- if $requests }}{{ $_ := set $resources "requests" $requests }}{{ end -}}
{{- if $limits }}{{ $_ := set $resources "limits" $limits }}{{ end -}}

{{- /* engine command line */ -}}
{{- $mode := $engine.mode | default "vllmServe" -}}
{{- $layout := include "ms.rankLayout" (dict "root" $root "role" $role "par" $par "mode" $mode "accType" $accType) | fromJson -}}
{{- $ranks := int $layout.ranks -}}
{{- $routing := include "ms.routing" $root | fromJson -}}
{{- $kvEvents := include "ms.kvEvents" $root | fromJson -}}
{{- $offload := include "ms.kvOffload" $root | fromJson -}}
{{- $pd := not (empty (include "ms.pdEnabled" $root)) -}}
{{- $proxy := and (eq $role "decode") (not (empty (include "ms.proxyEnabled" $root))) -}}
{{- $servicePort := int ($engine.port | default 8000) -}}
{{- $port := $servicePort -}}
{{- if $proxy -}}
{{- $port = int $routing.proxy.enginePort -}}
{{- if eq $port $servicePort -}}
{{- fail (printf "routing.proxy.enginePort (%d) equals engine.port: the routing sidecar listens on engine.port and vLLM must move to another port" $port) -}}
{{- end -}}
{{- end -}}
{{- $command := list -}}
{{- $args := list -}}
{{- $userArgs := $engine.args | default dict -}}
{{- if eq $mode "custom" -}}
  {{- if not $engine.command -}}
  {{- fail (printf "engine.mode is custom for role %s but engine.command is empty: give the full container command, or use mode vllmServe/imageDefault" $role) -}}
  {{- end -}}
  {{- range $engine.command -}}
  {{- $command = append $command (include "ms.tpl" (list . $ctx)) -}}
  {{- end -}}
{{- else -}}
  {{- $flags := (include "ms.facts" $root | fromJson).managedFlags -}}
  {{- $managed := $flags.always -}}
  {{- if $pd }}{{ $_ := set $managed "kv-transfer-config" "routing.kvTransfer" }}{{ end -}}
  {{- if $offload.enabled }}{{ $_ := set $managed "kv-transfer-config" (ternary "routing.kvTransfer and kvOffload" "kvOffload" $pd) }}{{ end -}}
  {{- if $kvEvents.enabled }}{{ $_ := set $managed "kv-events-config" "routing.epp.precisePrefixCache" }}{{ end -}}
  {{- if $lora.enabled }}{{ $managed = mergeOverwrite $managed $flags.lora }}{{ end -}}
  {{- if $multi.enabled }}{{ $managed = mergeOverwrite $managed $flags.multiNode }}{{ end -}}
  {{- if $layout.perRank }}{{ $managed = mergeOverwrite $managed $flags.httpPerRank }}{{ end -}}
  {{- $roleArgs := (($values.engine | default dict).args | default dict) -}}
  {{- $failures := list -}}
  {{- range $flag, $instead := $managed -}}
  {{- if hasKey $userArgs $flag -}}
  {{- $key := ternary (printf "%s.engine.args.%s" $role $flag) (printf "engine.args.%s" $flag) (hasKey $roleArgs $flag) -}}
  {{- $failures = append $failures (printf "%s is managed by the chart: set %s instead" $key (replace "<role>" $role $instead)) -}}
  {{- end -}}
  {{- end -}}
  {{- /* one line per flag, so every misplaced flag is reported at once (a `$failures`
  list joined by newlines: tests/fuzz_support.py reads its messages as `fail` messages) */ -}}
  {{- with $failures }}{{ fail (join "\n" .) }}{{ end -}}
  {{- if eq $mode "vllmServe" -}}
  {{- $command = list "vllm" "serve" -}}
  {{- $args = append $args $model.modelArg -}}
  {{- else -}}
  {{- $args = append $args (printf "--model=%s" $model.modelArg) -}}
  {{- end -}}
  {{- $args = append $args (printf "--port=%d" $port) -}}
  {{- $args = append $args (printf "--served-model-name=%s" $model.name) -}}
  {{- if and ($root.Values.model | default dict).revision $model.hfRepo -}}
  {{- $args = append $args (printf "--revision=%s" ($root.Values.model | default dict).revision) -}}
  {{- end -}}
  {{- if gt $tp 1 }}{{ $args = append $args (printf "--tensor-parallel-size=%d" $tp) }}{{ end -}}
  {{- if gt $pp 1 }}{{ $args = append $args (printf "--pipeline-parallel-size=%d" $pp) }}{{ end -}}
  {{- if gt $dp 1 -}}
  {{- $args = append $args (printf "--data-parallel-size=%d" $dp) -}}
  {{- /* per rank: each process is one rank (vLLM refuses size-local > 1 with a rank) */ -}}
  {{- if not $layout.perRank }}{{ $args = append $args (printf "--data-parallel-size-local=%d" $dpLocal) }}{{ end -}}
  {{- end -}}
  {{- if $par.expert }}{{ $args = append $args "--enable-expert-parallel" }}{{ end -}}
  {{- with include "ms.kvTransferArg" $root }}{{ $args = append $args (printf "--kv-transfer-config=%s" .) }}{{ end -}}
  {{- if $kvEvents.enabled -}}
  {{- if and $kvEvents.central (gt $dp 1) -}}
  {{- fail (printf "%s: routing.epp.precisePrefixCache.mode central with %d data-parallel ranks: vLLM publishes rank r's KV-cache events to the EPP port + r (r the global rank), but the EPP listens on one port: use mode podDiscovery (the EPP dials each rank's port), or no data parallelism" $role $dp) -}}
  {{- end -}}
  {{- $args = append $args (printf "--kv-events-config=%s" (include "ms.kvEventsConfig" (list $kvEvents $port $model.name))) -}}
  {{- if not (hasKey $userArgs "block-size") -}}
  {{- $args = append $args (printf "--block-size=%d" (int $kvEvents.blockSize)) -}}
  {{- else if ne (include "ms.scalar" (get $userArgs "block-size")) (toString (int $kvEvents.blockSize)) -}}
  {{- fail (printf "engine.args.block-size (%s) differs from routing.epp.precisePrefixCache.blockSize (%d): the EPP would hash KV blocks of another size than vLLM's and never match; set one value (or drop engine.args.block-size)" (include "ms.scalar" (get $userArgs "block-size")) (int $kvEvents.blockSize)) -}}
  {{- end -}}
  {{- end -}}
  {{- $args = concat $args $lora.args -}}
{{- end -}}
{{- range $flag, $value := $userArgs -}}
  {{- if kindIs "bool" $value -}}
    {{- if $value }}{{ $args = append $args (printf "--%s" $flag) }}{{ end -}}
  {{- else if or (kindIs "map" $value) (kindIs "slice" $value) -}}
    {{- $args = append $args (printf "--%s=%s" $flag (toJson $value)) -}}
  {{- else if not (kindIs "invalid" $value) -}}
    {{- $args = append $args (printf "--%s=%s" $flag (include "ms.tpl" (list (include "ms.scalar" $value) $ctx))) -}}
  {{- end -}}
{{- end -}}
{{- range $engine.extraArgs | default list -}}
{{- $args = append $args (include "ms.tpl" (list (include "ms.scalar" .) $ctx)) -}}
{{- end -}}

{{- /* multi-node: leader and worker command lines */ -}}
{{- $workerCommand := list -}}
{{- $workerArgs := list -}}
{{- if $layout.perRank -}}
  {{- $launch := include "ms.rankLaunch" (dict "args" $args "layout" $layout "multi" $multi "port" $port "kvEvents" $kvEvents "model" $model.name "pd" $pd) | fromJson -}}
  {{- $command = $launch.command -}}
  {{- $args = $launch.args -}}
  {{- if $multi.enabled -}}
  {{- $workerCommand = $command -}}
  {{- $workerArgs = $args -}}
  {{- end -}}
{{- else if $multi.enabled -}}
  {{- if ne $mode "vllmServe" -}}
  {{- fail (printf "%s.multiNode needs engine.mode vllmServe: the chart builds the leader and worker command lines (mode is %s)" $role $mode) -}}
  {{- end -}}
  {{- $launch := include "ms.launch" (dict "multi" $multi "args" $args "dpLocal" $dpLocal) | fromJson -}}
  {{- $command = $launch.leaderCommand -}}
  {{- $args = $launch.leaderArgs -}}
  {{- $workerCommand = $launch.workerCommand -}}
  {{- $workerArgs = $launch.workerArgs -}}
{{- end -}}

{{- /* environment: model variables, the HF token, then the user's map (which wins) */ -}}
{{- $userEnv := $engine.env | default dict -}}
{{- $env := list -}}
{{- range $name, $value := $model.env -}}
{{- if not (hasKey $userEnv $name) }}{{ $env = append $env (dict "name" $name "value" $value) }}{{ end -}}
{{- end -}}
{{- if $pd -}}
{{- if not (hasKey $userEnv "VLLM_NIXL_SIDE_CHANNEL_HOST") -}}
{{- $env = append $env (dict "name" "VLLM_NIXL_SIDE_CHANNEL_HOST" "valueFrom" (dict "fieldRef" (dict "fieldPath" "status.podIP"))) -}}
{{- end -}}
{{- if not (hasKey $userEnv "VLLM_NIXL_SIDE_CHANNEL_PORT") -}}
{{- $env = append $env (dict "name" "VLLM_NIXL_SIDE_CHANNEL_PORT" "value" (toString $routing.kvTransfer.sideChannelPort)) -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := include "ms.kvOffloadEnv" $root | fromJson -}}
{{- if not (hasKey $userEnv $name) }}{{ $env = append $env (dict "name" $name "value" $value) }}{{ end -}}
{{- end -}}
{{- if $kvEvents.enabled -}}
{{- if not (hasKey $userEnv "POD_IP") -}}
{{- $env = append $env (dict "name" "POD_IP" "valueFrom" (dict "fieldRef" (dict "fieldPath" "status.podIP"))) -}}
{{- end -}}
{{- if and $kvEvents.hashSeed $offload.enabled $offload.hashSeed (ne (toString $kvEvents.hashSeed) (toString $offload.hashSeed)) -}}
{{- fail (printf "routing.epp.precisePrefixCache.hashSeed (%s) and kvOffload.hashSeed (%s) differ, but an engine has one PYTHONHASHSEED: set the same seed in both" (toString $kvEvents.hashSeed) (toString $offload.hashSeed)) -}}
{{- end -}}
{{- if and $kvEvents.hashSeed (not (hasKey $userEnv "PYTHONHASHSEED")) (not (and $offload.enabled $offload.hashSeed)) -}}
{{- $env = append $env (dict "name" "PYTHONHASHSEED" "value" (toString $kvEvents.hashSeed)) -}}
{{- end -}}
{{- end -}}
{{- with ($root.Values.model | default dict).authSecretName -}}
{{- if not (hasKey $userEnv "HF_TOKEN") -}}
{{- $env = append $env (dict "name" "HF_TOKEN" "valueFrom" (dict "secretKeyRef" (dict "name" . "key" (($root.Values.model | default dict).authSecretKey | default "HF_TOKEN")))) -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := $userEnv -}}
  {{- /* a token written as a literal value: the release and pod spec would store it */ -}}
  {{- $literal := "" -}}
  {{- if kindIs "map" $value }}{{ $literal = toString ($value.value | default "") }}{{ else if not (kindIs "invalid" $value) }}{{ $literal = toString $value }}{{ end -}}
  {{- if and $literal (or (has $name (list "HF_TOKEN" "HUGGING_FACE_HUB_TOKEN")) (regexMatch "^hf_[A-Za-z0-9]{16,}$" $literal)) -}}
  {{- fail (printf "engine.env.%s holds a token in plain text, which would be stored in the release and the pod spec: put it in a Secret and set model.authSecretName (and model.authSecretKey) instead, or use `%s: {valueFrom: {secretKeyRef: ...}}`" $name $name) -}}
  {{- end -}}
  {{- if kindIs "map" $value -}}
    {{- if not (kindIs "invalid" $value.valueFrom) -}}
    {{- $env = append $env (dict "name" $name "valueFrom" $value.valueFrom) -}}
    {{- else -}}
    {{- $env = append $env (dict "name" $name "value" (include "ms.tpl" (list (include "ms.scalar" $value.value) $ctx))) -}}
    {{- end -}}
  {{- else if not (kindIs "invalid" $value) -}}
    {{- $env = append $env (dict "name" $name "value" (include "ms.tpl" (list (include "ms.scalar" $value) $ctx))) -}}
  {{- end -}}
{{- end -}}

{{- /* container ports: one HTTP port per rank (vLLM's, and the sidecar's in front), the
NIXL side channel (one per rank in per-rank mode), one KV-events port per local rank, the
multi-node coordination port; two uses of one port fail here, not at bind time */ -}}
{{- $portName := ternary "vllm" "http" $proxy -}}
{{- $httpPorts := list -}}
{{- $engineHttpPorts := list -}}
{{- $enginePorts := list -}}
{{- $sidecarPorts := list -}}
{{- range $rank := until $ranks -}}
{{- $suffix := ternary "" (printf "-%d" $rank) (eq $rank 0) -}}
{{- $httpPorts = append $httpPorts (add $servicePort $rank) -}}
{{- $engineHttpPorts = append $engineHttpPorts (add $port $rank) -}}
{{- $enginePorts = append $enginePorts (dict "name" (printf "%s%s" $portName $suffix) "containerPort" (add $port $rank) "protocol" "TCP") -}}
{{- if $proxy }}{{ $sidecarPorts = append $sidecarPorts (dict "name" (printf "http%s" $suffix) "containerPort" (add $servicePort $rank) "protocol" "TCP") }}{{ end -}}
{{- end -}}
{{- if $pd -}}
{{- range $rank := until $ranks -}}
{{- $enginePorts = append $enginePorts (dict "name" (ternary "nixl" (printf "nixl-%d" $rank) (eq $rank 0)) "containerPort" (add (int $routing.kvTransfer.sideChannelPort) $rank) "protocol" "TCP") -}}
{{- end -}}
{{- end -}}
{{- if and $kvEvents.enabled (not $kvEvents.central) -}}
{{- range $rank := until $dpLocal -}}
{{- $enginePorts = append $enginePorts (dict "name" (ternary "kv-events" (printf "kv-events-%d" $rank) (eq $rank 0)) "containerPort" (add (int $kvEvents.port) $rank) "protocol" "TCP") -}}
{{- end -}}
{{- end -}}
{{- if $multi.enabled -}}
{{- $enginePorts = append $enginePorts (dict "name" "coordination" "containerPort" (int $multi.port) "protocol" "TCP") -}}
{{- end -}}
{{- $seen := dict -}}
{{- range (concat $sidecarPorts $enginePorts) -}}
{{- $key := toString .containerPort -}}
{{- if hasKey $seen $key -}}
{{- fail (printf "%s: port %d is both %s and %s in one pod: move engine.port, routing.proxy.enginePort, routing.kvTransfer.sideChannelPort, routing.epp.precisePrefixCache.port or multiNode.coordinationPort apart (with parallelism.httpPerRank each HTTP and NIXL port takes dataLocal consecutive ports)" $role (int .containerPort) (get $seen $key) .name) -}}
{{- end -}}
{{- $_ := set $seen $key .name -}}
{{- end -}}

{{- toJson (dict
  "role" $role
  "name" (include "ms.roleName" (list $root $role))
  "enabled" (ternary false true (eq (toString $values.enabled) "false"))
  "replicas" $values.replicas
  "parallelism" $par
  "pod" $pod
  "engine" $engine
  "service" ($values.service | default dict)
  "strategy" ($values.strategy | default dict)
  "acceleratorCount" (ternary 0 $count (empty $resourceName))
  "resources" $resources
  "dra" $dra
  "command" $command
  "args" $args
  "workerCommand" $workerCommand
  "workerArgs" $workerArgs
  "multiNode" $multi
  "lora" $lora
  "autoscaling" ($values.autoscaling | default dict)
  "podDisruptionBudget" ($values.podDisruptionBudget | default dict)
  "env" $env
  "port" $port
  "portName" $portName
  "servicePort" $servicePort
  "proxy" $proxy
  "pd" $pd
  "sideChannelPort" (int $routing.kvTransfer.sideChannelPort)
  "perRank" $layout.perRank
  "ranks" $ranks
  "httpPorts" $httpPorts
  "engineHttpPorts" $engineHttpPorts
  "enginePorts" $enginePorts
  "sidecarPorts" $sidecarPorts
  "workersServe" (and $layout.perRank $multi.enabled)
  "model" $model
) -}}
{{- end -}}
