{{/*
Tiered prefix cache (kvOffload): vLLM offloads KV blocks to host memory (and further tiers)
through a KV connector in --kv-transfer-config; with P/D the NIXL connector and the offloading
connector compose in vLLM's MultiConnector ({kv_connector_extra_config: {connectors: [...]}},
vllm/distributed/kv_transfer/kv_connector/v1/multi_connector.py).

"ms.kvOffload" returns the resolved values {enabled, connector, cpuGiB, extraConfig, hashSeed}.
*/}}
{{- define "ms.kvOffload" -}}
{{- $cfg := dict "enabled" false "connector" "OffloadingConnector" "cpuGiB" 0 "extraConfig" dict "hashSeed" ""
  "prefixScoring" (dict "blocks" 0 "weight" 1) -}}
{{- include "ms.merge" (list $cfg (.Values.kvOffload | default dict)) -}}
{{- $_ := set $cfg "enabled" (eq (toString $cfg.enabled) "true") -}}
{{- toJson $cfg -}}
{{- end -}}

{{/* The offloading connector's own KVTransferConfig (a dict, JSON). */}}
{{- define "ms.kvOffloadConnector" -}}
{{- $o := include "ms.kvOffload" . | fromJson -}}
{{- $config := dict "kv_connector" $o.connector "kv_role" "kv_both" -}}
{{- $extra := dict -}}
{{- if eq $o.connector "OffloadingConnector" -}}
{{- if le (int $o.cpuGiB) 0 -}}
{{- fail "kvOffload.cpuGiB must be above 0 for the OffloadingConnector: it is the host-memory tier (cpu_bytes_to_use) each engine keeps KV blocks in" -}}
{{- end -}}
{{- $_ := set $extra "cpu_bytes_to_use" (mul (int $o.cpuGiB) 1073741824) -}}
{{- end -}}
{{- include "ms.merge" (list $extra ($o.extraConfig | default dict)) -}}
{{- with $extra }}{{ $_ := set $config "kv_connector_extra_config" . }}{{ end -}}
{{- toJson $config -}}
{{- end -}}

{{/* --kv-transfer-config of the engines: P/D's connector, the offloading connector, or both
in a MultiConnector (P/D first, so KV transfer between pods keeps priority). "" when neither. */}}
{{- define "ms.kvTransferArg" -}}
{{- $pd := not (empty (include "ms.pdEnabled" .)) -}}
{{- $o := include "ms.kvOffload" . | fromJson -}}
{{- if and $pd $o.enabled -}}
{{- $transfer := include "ms.kvTransferConfig" . | fromJson -}}
{{- $connectors := list $transfer (include "ms.kvOffloadConnector" . | fromJson) -}}
{{- toJson (dict "kv_connector" "MultiConnector" "kv_role" $transfer.kv_role "kv_connector_extra_config" (dict "connectors" $connectors)) -}}
{{- else if $pd -}}
{{- include "ms.kvTransferConfig" . -}}
{{- else if $o.enabled -}}
{{- include "ms.kvOffloadConnector" . -}}
{{- end -}}
{{- end -}}

{{/* Environment the offloading connector needs, as a map (the user's engine.env wins). */}}
{{- define "ms.kvOffloadEnv" -}}
{{- $o := include "ms.kvOffload" . | fromJson -}}
{{- $env := dict -}}
{{- if $o.enabled -}}
{{- if eq $o.connector "LMCacheConnectorV1" -}}
{{- $_ := set $env "LMCACHE_LOCAL_CPU" "True" -}}
{{- $_ := set $env "LMCACHE_MAX_LOCAL_CPU_SIZE" (toString (int $o.cpuGiB)) -}}
{{- end -}}
{{- with $o.hashSeed }}{{ $_ := set $env "PYTHONHASHSEED" (toString .) }}{{ end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}
