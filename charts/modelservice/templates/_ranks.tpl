{{/*
One HTTP port per data-parallel rank (<role>.parallelism.httpPerRank), as vLLM 0.17.1 supports
it: external load balancing, one `vllm serve` process per rank. Read at v0.17.1:
  vllm/entrypoints/cli/serve.py    --data-parallel-rank (or --data-parallel-external-lb) is
                                   external LB, one API server per process; --api-server-count
                                   > 1 and hybrid LB (--data-parallel-start-rank) share ONE port
  vllm/engine/arg_utils.py         with --data-parallel-rank, --data-parallel-size-local must
                                   be 1 or unset; rank 0 runs the DP coordinator at
                                   --data-parallel-address:--data-parallel-rpc-port
  vllm/v1/engine/utils.py          on CUDA a process picks its devices by local rank (0 for a
                                   per-rank process), so each process gets its own
                                   CUDA_VISIBLE_DEVICES (platforms/*.py device_control_env_var)
  vllm/distributed/kv_events.py    a KV-events endpoint port is offset by the global DP rank
  .../nixl_connector.py            the NIXL side channel port is offset by the global DP rank
vLLM's multi-port supervisor (--data-parallel-multi-port-external-lb, one process serving a
port per rank) is not in 0.17.1. The llm-d-router v0.10.0 EPP makes one endpoint per pool
targetPort (pkg/epp/datastore/datastore.go: RankIndex = position in targetPorts, narrowed by
the llm-d.ai/active-ports pod annotation) and subscribes to KV events on socketPort +
RankIndex; its sidecar takes --data-parallel-size N and serves port+r -> model-server-port+r
(pkg/sidecar/proxy/data_parallel.go). GIE v1.6.0 allows at most 8 targetPorts.
*/}}

{{/* Device-visibility variable vLLM 0.17.1's platform reads for an accelerator type
(vllm/platforms/{cuda,rocm,xpu}.py device_control_env_var); "" when the chart knows none. */}}
{{- define "ms.deviceEnv" -}}
{{- get (dict "nvidia" "CUDA_VISIBLE_DEVICES" "amd" "CUDA_VISIBLE_DEVICES" "intel-xe" "ZE_AFFINITY_MASK") . -}}
{{- end -}}

{{/* The HTTP layout of a role's pods. Call with (dict "root" $ "role" "decode" "par"
$parallelism "mode" engine.mode "accType" accelerator type); returns JSON {perRank, ranks,
deviceEnv, devicesPerRank}: ranks is the number of HTTP ports one pod serves. */}}
{{- define "ms.rankLayout" -}}
{{- $role := .role -}}
{{- $par := .par -}}
{{- $out := dict "perRank" false "ranks" 1 "deviceEnv" "" "devicesPerRank" 0 -}}
{{- if eq (toString $par.httpPerRank) "true" -}}
  {{- $where := printf "%s.parallelism.httpPerRank" $role -}}
  {{- if le (int $par.data) 1 -}}
  {{- fail (printf "%s needs data > 1: with one data-parallel rank the pod already serves one port; set %s.parallelism.data (and dataLocal) or drop httpPerRank" $where $role) -}}
  {{- end -}}
  {{- if ne .mode "vllmServe" -}}
  {{- fail (printf "%s needs engine.mode vllmServe (mode is %s): the chart starts one vllm serve per rank" $where .mode) -}}
  {{- end -}}
  {{- if gt (int $par.dataLocal) 8 -}}
  {{- fail (printf "%s: dataLocal (%d) ranks would need %d pool targetPorts, but an InferencePool lists at most 8 (GIE v1.6.0): lower dataLocal to 8 or less" $where (int $par.dataLocal) (int $par.dataLocal)) -}}
  {{- end -}}
  {{- $generation := include "ms.generation" .root | fromJson -}}
  {{- if ne $generation.name "v1" -}}
  {{- fail (printf "%s needs routing.generation v1: the %s InferencePool has a single targetPortNumber" $where $generation.name) -}}
  {{- end -}}
  {{- $env := include "ms.deviceEnv" .accType -}}
  {{- if not $env -}}
  {{- fail (printf "%s: accelerator type %q has no device-visibility variable known to the chart (vLLM 0.17.1 reads CUDA_VISIBLE_DEVICES for nvidia and amd, ZE_AFFINITY_MASK for intel-xe), so every rank would take the same device: use one of those types or drop httpPerRank" $where (toString .accType)) -}}
  {{- end -}}
  {{- $_ := set $out "perRank" true -}}
  {{- $_ := set $out "ranks" (int $par.dataLocal) -}}
  {{- $_ := set $out "deviceEnv" $env -}}
  {{- $_ := set $out "devicesPerRank" (mul (int $par.tensor) (int $par.pipeline)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The launch script of a per-rank pod: one `vllm serve` per local rank in the background,
then a loop that stops every rank (and the container) when one exits. Call with (dict "args"
$args "layout" $layout "multi" $multi "port" enginePort "kvEvents" $kv "model" served name
"pd" bool); returns JSON {command, args}. $args is the single-pod command line (model first,
`--port` the rank-0 port). In a LeaderWorkerSet every pod (the leader is worker index 0) runs
ranks START..START+ranks-1 against the leader's coordinator; the KV-events and NIXL base
ports are lowered by START so every pod publishes on the same local ports. `$$` is
Kubernetes' escape for `$`. */}}
{{- define "ms.rankLaunch" -}}
{{- $layout := .layout -}}
{{- $multi := .multi -}}
{{- $ranks := int $layout.ranks -}}
{{- $lines := list -}}
{{- if $multi.enabled -}}
{{- $lines = append $lines (printf "START=$$((LWS_WORKER_INDEX*%d))" $ranks) -}}
{{- if .kvEvents.enabled }}{{ $lines = append $lines (printf "KV_EVENTS_PORT=$$((%d-START))" (int .kvEvents.port)) }}{{ end -}}
{{- if .pd }}{{ $lines = append $lines "export VLLM_NIXL_SIDE_CHANNEL_PORT=$$((VLLM_NIXL_SIDE_CHANNEL_PORT-START))" }}{{ end -}}
{{- end -}}
{{- $lines = append $lines "pids=" -}}
{{- range $rank := until $ranks -}}
  {{- $port := add (int $.port) $rank -}}
  {{- $words := list -}}
  {{- range $.args -}}
    {{- if hasPrefix "--port=" . -}}
    {{- $words = append $words (include "ms.shellQuote" (printf "--port=%d" $port)) -}}
    {{- else if and $.kvEvents.enabled (hasPrefix "--kv-events-config=" .) -}}
    {{- $endpoint := ternary "@KV_EVENTS_PORT@" (toString (int $.kvEvents.port)) $multi.enabled -}}
    {{- $quoted := include "ms.shellQuote" (printf "--kv-events-config=%s" (include "ms.kvEventsConfig" (list $.kvEvents $port $.model $endpoint))) -}}
    {{- $words = append $words (replace "@KV_EVENTS_PORT@" "'\"$KV_EVENTS_PORT\"'" $quoted) -}}
    {{- else -}}
    {{- $words = append $words (include "ms.shellQuote" .) -}}
    {{- end -}}
  {{- end -}}
  {{- if $multi.enabled -}}
  {{- $words = append $words (printf "--data-parallel-rank=$$((START+%d))" $rank) -}}
  {{- $words = append $words (include "ms.shellQuote" "--data-parallel-address=$(LWS_LEADER_ADDRESS)") -}}
  {{- $words = append $words (printf "--data-parallel-rpc-port=%d" (int $multi.port)) -}}
  {{- else -}}
  {{- $words = append $words (printf "--data-parallel-rank=%d" $rank) -}}
  {{- end -}}
  {{- $devices := list -}}
  {{- range $i := until (int $layout.devicesPerRank) }}{{ $devices = append $devices (toString (add (mul $rank (int $layout.devicesPerRank)) $i)) }}{{ end -}}
  {{- $lines = append $lines (printf "%s=%s vllm serve %s &" $layout.deviceEnv (join "," $devices) (join " " $words)) -}}
  {{- $lines = append $lines "pids=\"$pids $!\"" -}}
{{- end -}}
{{- $lines = concat $lines (list
  "trap 'stopping=1; kill -TERM $pids 2>/dev/null' TERM INT"
  "stopping="
  "while :; do"
  "  for pid in $pids; do"
  "    kill -0 \"$pid\" 2>/dev/null && continue"
  "    wait \"$pid\"; status=$?"
  "    [ -n \"$stopping\" ] || echo \"data-parallel rank process $pid exited with status $status: stopping the pod's other ranks\" >&2"
  "    kill -TERM $pids 2>/dev/null; wait"
  "    [ -n \"$stopping\" ] && exit 0"
  "    [ \"$status\" -ne 0 ] || status=1"
  "    exit \"$status\""
  "  done"
  "  sleep 5 & wait $!"
  "done") -}}
{{- toJson (dict "command" (list "/bin/sh" "-c") "args" (list (join "\n" $lines))) -}}
{{- end -}}

{{/* Ports of the InferencePool: engine.port of the decode role, and in per-rank mode one
per rank of the role serving the most (the EPP's RankIndex is the position in this list).
JSON list of ints. */}}
{{- define "ms.poolTargetPorts" -}}
{{- $root := . -}}
{{- $decode := include "ms.role" (list $root "decode") | fromJson -}}
{{- $ports := list (int $decode.servicePort) -}}
{{- $ranks := 1 -}}
{{- $perRank := false -}}
{{- range $name := list "decode" "prefill" -}}
{{- $role := include "ms.role" (list $root $name) | fromJson -}}
{{- if $role.enabled -}}
{{- if gt (int $role.ranks) $ranks }}{{ $ranks = int $role.ranks }}{{ end -}}
{{- if $role.perRank }}{{ $perRank = true }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if $perRank -}}
{{- $prefill := include "ms.role" (list $root "prefill") | fromJson -}}
{{- if and $prefill.enabled (ne (int $prefill.servicePort) (int $decode.servicePort)) -}}
{{- fail (printf "decode and prefill serve the pool on different ports (%d and %d) while a role has parallelism.httpPerRank: the pool's targetPorts count ranks from one base port, so give both roles the same engine.port" (int $decode.servicePort) (int $prefill.servicePort)) -}}
{{- end -}}
{{- $ports = list -}}
{{- range $rank := until $ranks }}{{ $ports = append $ports (add (int $decode.servicePort) $rank) }}{{ end -}}
{{- end -}}
{{- toJson $ports -}}
{{- end -}}
