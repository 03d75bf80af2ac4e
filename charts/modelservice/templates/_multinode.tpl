{{/*
Parallelism layout of one role: checks the parallelism against the workload kind and, for a
multi-node role, sizes the LeaderWorkerSet group. Call with (list $ "decode" $parallelism);
returns JSON {enabled, mode, size, perPod, port, startupPolicy, restartPolicy, subGroupSize,
exclusiveTopology}. perPod is the accelerators one pod needs.

  single pod    perPod = tensor x pipeline x dataLocal; data > dataLocal is refused
  dataParallel  size = data / dataLocal pods, perPod = tensor x dataLocal, pipeline 1;
                every pod runs `vllm serve`, workers --headless with their start rank
  ray           size = tensor x pipeline / acceleratorsPerNode, perPod = acceleratorsPerNode,
                data 1; the leader starts a Ray head and serves, workers join it
*/}}
{{- define "ms.multiNode" -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
{{- $par := index . 2 -}}
{{- $multi := dict "enabled" false "acceleratorsPerNode" 8 "mode" "auto" "startupPolicy" "LeaderCreated" "restartPolicy" "RecreateGroupOnPodRestart" "exclusiveTopology" "" "coordinationPort" 6379 -}}
{{- include "ms.merge" (list $multi ((get $root.Values $role | default dict).multiNode | default dict)) -}}
{{- $tp := int $par.tensor -}}
{{- $pp := int $par.pipeline -}}
{{- $dp := int $par.data -}}
{{- $dpLocal := int $par.dataLocal -}}
{{- $where := printf "%s.parallelism" $role -}}
{{- if gt $dpLocal $dp -}}
{{- fail (printf "%s: dataLocal (%d) is larger than data (%d); dataLocal is the share of the data-parallel ranks that runs inside one pod" $where $dpLocal $dp) -}}
{{- end -}}
{{- if ne (mod $dp $dpLocal) 0 -}}
{{- fail (printf "%s: data (%d) must be a multiple of dataLocal (%d)" $where $dp $dpLocal) -}}
{{- end -}}
{{- $out := dict "enabled" false "mode" "" "size" 1 "perPod" (mul $tp $pp $dpLocal) "port" (int $multi.coordinationPort) -}}
{{- if not $multi.enabled -}}
  {{- if gt $dp $dpLocal -}}
  {{- fail (printf "%s: data (%d) > dataLocal (%d) spreads one engine over several pods, which needs a multi-node (LeaderWorkerSet) role: set %s.multiNode.enabled: true, or dataLocal: %d to keep all ranks in one pod" $where $dp $dpLocal $role $dp) -}}
  {{- end -}}
{{- else -}}
  {{- $perNode := int $multi.acceleratorsPerNode -}}
  {{- $mode := $multi.mode -}}
  {{- if eq $mode "auto" }}{{ $mode = ternary "dataParallel" "ray" (gt $dp $dpLocal) }}{{ end -}}
  {{- $size := 1 -}}
  {{- $perPod := 0 -}}
  {{- if eq $mode "dataParallel" -}}
    {{- if gt $pp 1 -}}
    {{- fail (printf "%s: pipeline (%d) > 1 does not combine with the dataParallel multi-node mode; use mode ray for pipeline parallelism" $where $pp) -}}
    {{- end -}}
    {{- if le $dp $dpLocal -}}
    {{- fail (printf "%s: the dataParallel multi-node mode needs data > dataLocal (data %d, dataLocal %d): data is the ranks of the whole group, dataLocal those of one pod" $where $dp $dpLocal) -}}
    {{- end -}}
    {{- $size = div $dp $dpLocal -}}
    {{- $perPod = mul $tp $dpLocal -}}
  {{- else if eq $mode "ray" -}}
    {{- if gt $dp 1 -}}
    {{- fail (printf "%s: data (%d) > 1 does not combine with the ray multi-node mode; use mode dataParallel for data parallelism" $where $dp) -}}
    {{- end -}}
    {{- $ranks := mul $tp $pp -}}
    {{- if le $ranks $perNode -}}
    {{- fail (printf "%s: tensor x pipeline = %d fits on one node of %d accelerators: drop %s.multiNode (or lower multiNode.acceleratorsPerNode)" $where $ranks $perNode $role) -}}
    {{- end -}}
    {{- if ne (mod $ranks $perNode) 0 -}}
    {{- fail (printf "%s: tensor x pipeline (%d) must be a multiple of multiNode.acceleratorsPerNode (%d) so every node runs the same number of ranks" $where $ranks $perNode) -}}
    {{- end -}}
    {{- $size = div $ranks $perNode -}}
    {{- $perPod = $perNode -}}
  {{- else -}}
  {{- fail (printf "%s.multiNode.mode %q is unknown: use auto, dataParallel or ray" $role $mode) -}}
  {{- end -}}
  {{- if gt $perPod $perNode -}}
  {{- fail (printf "%s: one pod needs %d accelerators (tensor x dataLocal) but a node has %d (multiNode.acceleratorsPerNode)" $where $perPod $perNode) -}}
  {{- end -}}
  {{- $_ := set $out "enabled" true -}}
  {{- $_ := set $out "mode" $mode -}}
  {{- $_ := set $out "size" $size -}}
  {{- $_ := set $out "perPod" $perPod -}}
  {{- range $key := list "startupPolicy" "restartPolicy" "subGroupSize" "exclusiveTopology" -}}
  {{- $_ := set $out $key (get $multi $key) -}}
  {{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* POSIX-shell single-quoted form of a string. */}}
{{- define "ms.shellQuote" -}}
'{{ replace "'" "'\\''" . }}'
{{- end -}}

{{/* Leader and worker command lines of a multi-node role, from the engine's single-pod
arguments (whose first entry is the model). Call with (dict "multi" $multi "args" $args
"dpLocal" N); returns JSON {leaderCommand, leaderArgs, workerCommand, workerArgs}.
$(LWS_LEADER_ADDRESS) is expanded by Kubernetes; ${LWS_*} by the shell. */}}
{{- define "ms.launch" -}}
{{- $multi := .multi -}}
{{- $port := int $multi.port -}}
{{- $quoted := list -}}
{{- range .args }}{{ $quoted = append $quoted (include "ms.shellQuote" .) }}{{ end -}}
{{- if eq $multi.mode "dataParallel" -}}
{{- $shared := list "--data-parallel-address=$(LWS_LEADER_ADDRESS)" (printf "--data-parallel-rpc-port=%d" $port) -}}
{{- $serve := printf "exec vllm serve %s %s" (join " " $quoted) (join " " $shared) -}}
{{- toJson (dict
  "leaderCommand" (list "vllm" "serve")
  "leaderArgs" (concat .args $shared (list "--data-parallel-start-rank=0"))
  "workerCommand" (list "/bin/sh" "-c")
  "workerArgs" (list (printf "%s --headless --data-parallel-start-rank=$$((LWS_WORKER_INDEX * %d))" $serve (int .dpLocal)))) -}}
{{- else -}}
{{- $gpus := int $multi.perPod -}}
{{- $wait := printf "until python3 -c \"import ray, sys; ray.init(address='auto', logging_level='ERROR'); sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) >= ${LWS_GROUP_SIZE} else 1)\"; do echo waiting for the ray workers; sleep 5; done" -}}
{{- $leader := list
  (printf "ray start --head --port=%d --num-gpus=%d --disable-usage-stats" $port $gpus)
  $wait
  (printf "exec vllm serve %s --distributed-executor-backend=ray" (join " " $quoted)) -}}
{{- toJson (dict
  "leaderCommand" (list "/bin/sh" "-c")
  "leaderArgs" (list (join "\n" $leader))
  "workerCommand" (list "/bin/sh" "-c")
  "workerArgs" (list (printf "exec ray start --address=$(LWS_LEADER_ADDRESS):%d --num-gpus=%d --block --disable-usage-stats" $port $gpus))) -}}
{{- end -}}
{{- end -}}
