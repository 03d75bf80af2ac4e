{{/*
The EndpointPickerConfig of the EPP, from a built-in profile (routing.epp.profile), extended
by routing.epp.plugins / routing.epp.profilePlugins, or replaced by routing.epp.config.

Profiles (generation v1, llm-d-router v0.10):
  default       queue + kv-cache-utilization + prefix-cache scorers, max-score picker
  prefix-cache  prefix-cache scorer, max-score picker
  precise-prefix-cache  token-producer (vLLM render sidecar) + precise-prefix-cache-producer
                fed by the engines' KV events (endpoint-notification-source in dataLayer)
                + prefix-cache-scorer, queue and kv-cache utilization scorers (_kvevents.tpl)
  pd            prefill/decode filters, disagg-profile-handler with the prefix-based P/D
                decider (nonCachedTokens), profiles `prefill` and `decode`
`auto` is `pd` when prefill is enabled, else `default`.
*/}}

{{/* The profile name in effect. */}}
{{- define "ms.eppProfile" -}}
{{- $profile := (include "ms.routing" . | fromJson).epp.profile -}}
{{- if eq $profile "auto" -}}
{{- ternary "pd" "default" (not (empty (include "ms.pdEnabled" .))) -}}
{{- else -}}
{{- $profile -}}
{{- end -}}
{{- end -}}

{{/* Built-in plugins and scheduling profiles, as JSON {plugins: [[name, spec]...],
profiles: [[profile, [[pluginRef, weight]...]]...]}. Weight 0 renders no weight. */}}
{{- define "ms.eppProfileSpec" -}}
{{- $root := index . 0 -}}
{{- $profile := index . 1 -}}
{{- $epp := (include "ms.routing" $root | fromJson).epp -}}
{{- $legacy := eq (include "ms.generation" $root | fromJson).name "v1alpha2" -}}
{{- $kvScorer := ternary "kv-cache-scorer" "kv-cache-utilization-scorer" $legacy -}}
{{- $prefix := list (list "prefix-cache-scorer" (dict "type" "prefix-cache-scorer")) -}}
{{- if not $legacy -}}
{{- $producer := dict "type" "approx-prefix-cache-producer" "parameters" (dict "maxPrefixTokensToMatch" 4096 "lruCapacityPerServer" 31250) -}}
{{- $prefix = prepend $prefix (list "approx-prefix-cache-producer" $producer) -}}
{{- end -}}
{{- /* Tiered prefix cache: a second approximate producer for the CPU tier, named, with its
own scorer (llm-d-router v0.10.0 approximateprefix/README.md: named instances; the scorer's
prefixMatchInfoProducerName picks the producer, the unnamed scorer reads the default one). */ -}}
{{- $offload := include "ms.kvOffload" $root | fromJson -}}
{{- $cpuTier := and (not $legacy) $offload.enabled (gt (int $offload.prefixScoring.blocks) 0) -}}
{{- $cpuRef := list -}}
{{- if $cpuTier -}}
{{- $prefix = concat $prefix (list
  (list "cpu-prefix-cache-producer" (dict "type" "approx-prefix-cache-producer" "parameters" (dict "autoTune" false "maxPrefixTokensToMatch" 4096 "lruCapacityPerServer" (int $offload.prefixScoring.blocks))))
  (list "cpu-prefix-cache-scorer" (dict "type" "prefix-cache-scorer" "parameters" (dict "prefixMatchInfoProducerName" "cpu-prefix-cache-producer")))) -}}
{{- $cpuRef = list (list "cpu-prefix-cache-scorer" (int $offload.prefixScoring.weight)) -}}
{{- end -}}
{{- $picker := list "max-score-picker" (dict "type" "max-score-picker") -}}
{{- $single := list "single-profile-handler" (dict "type" "single-profile-handler") -}}
{{- if eq $profile "default" -}}
{{- toJson (dict
  "plugins" (concat $prefix (list
    (list "queue-scorer" (dict "type" "queue-scorer"))
    (list $kvScorer (dict "type" $kvScorer))
    $picker $single))
  "profiles" (list (list "default" (concat (list
    (list "queue-scorer" 2) (list $kvScorer 2) (list "prefix-cache-scorer" 3)) $cpuRef
    (list (list "max-score-picker" 0)))))) -}}
{{- else if eq $profile "prefix-cache" -}}
{{- toJson (dict
  "plugins" (concat $prefix (list $picker $single))
  "profiles" (list (list "default" (concat (list (list "prefix-cache-scorer" 1)) $cpuRef (list (list "max-score-picker" 0)))))) -}}
{{- else if eq $profile "pd" -}}
{{- $tokens := int $epp.nonCachedTokens -}}
{{- if le $tokens 0 -}}
{{- fail "routing.epp.nonCachedTokens must be above 0 for the pd profile: with no threshold every request stays decode-only" -}}
{{- end -}}
{{- $deciders := list -}}
{{- if $legacy -}}
{{- $deciders = list
  (list "prefill-header-handler" (dict "type" "prefill-header-handler"))
  (list "pd-profile-handler" (dict "type" "pd-profile-handler" "parameters" (dict "threshold" $tokens "hashBlockSize" 16))) -}}
{{- else -}}
{{- $deciders = list
  (list "prefix-based-pd-decider" (dict "type" "prefix-based-pd-decider" "parameters" (dict "nonCachedTokens" $tokens)))
  (list "disagg-profile-handler" (dict "type" "disagg-profile-handler" "parameters" (dict "deciders" (dict "prefill" "prefix-based-pd-decider")))) -}}
{{- end -}}
{{- $roleProfile := concat (list (list "max-score-picker" 0) (list "prefix-cache-scorer" 2)) $cpuRef (list (list "queue-scorer" 1)) -}}
{{- toJson (dict
  "plugins" (concat $prefix (list
    (list "queue-scorer" (dict "type" "queue-scorer"))
    (list "prefill-filter" (dict "type" "prefill-filter"))
    (list "decode-filter" (dict "type" "decode-filter"))
    $picker) $deciders)
  "profiles" (list
    (list "prefill" (prepend $roleProfile (list "prefill-filter" 0)))
    (list "decode" (prepend $roleProfile (list "decode-filter" 0))))) -}}
{{- else if eq $profile "precise-prefix-cache" -}}
{{- include "ms.preciseProfileSpec" $root -}}
{{- else -}}
{{- fail (printf "routing.epp.profile %q is unknown: use auto, default, prefix-cache, precise-prefix-cache or pd" $profile) -}}
{{- end -}}
{{- end -}}

{{/* The config file text (YAML). */}}
{{- define "ms.eppConfig" -}}
{{- $root := . -}}
{{- $epp := (include "ms.routing" . | fromJson).epp -}}
{{- if $epp.config -}}
{{- $ctx := dict -}}
{{- include "ms.fillContext" (list . $ctx) -}}
{{- tpl $epp.config $ctx -}}
{{- else -}}
{{- $spec := include "ms.eppProfileSpec" (list . (include "ms.eppProfile" .)) | fromJson -}}
{{- $extra := $epp.plugins | default dict -}}
{{- $plugins := list -}}
{{- range $spec.plugins -}}
{{- $name := index . 0 -}}
{{- if not (hasKey $extra $name) -}}
{{- $plugins = append $plugins (include "ms.eppPluginEntry" (list $name (index . 1)) | fromJson) -}}
{{- else if not (kindIs "invalid" (index $extra $name)) -}}
{{- $plugins = append $plugins (include "ms.eppPluginEntry" (list $name (index $extra $name)) | fromJson) -}}
{{- end -}}
{{- end -}}
{{- range $name, $plugin := $extra -}}
{{- $builtIn := false -}}
{{- range $spec.plugins }}{{ if eq (index . 0) $name }}{{ $builtIn = true }}{{ end }}{{ end -}}
{{- if and (not (kindIs "invalid" $plugin)) (not $builtIn) -}}
{{- $plugins = append $plugins (include "ms.eppPluginEntry" (list $name $plugin) | fromJson) -}}
{{- end -}}
{{- end -}}
{{- $profiles := list -}}
{{- $extraRefs := $epp.profilePlugins | default dict -}}
{{- $profileNames := list -}}
{{- range $spec.profiles }}{{ $profileNames = append $profileNames (index . 0) }}{{ end -}}
{{- range $name, $_ := $extraRefs -}}
{{- if not (has $name $profileNames) -}}
{{- fail (printf "routing.epp.profilePlugins.%s: the %s profile has no scheduling profile %q (it has: %s)" $name (include "ms.eppProfile" $root) $name (join ", " $profileNames)) -}}
{{- end -}}
{{- end -}}
{{- range $spec.profiles -}}
{{- $profileName := index . 0 -}}
{{- $refs := list -}}
{{- $added := get $extraRefs $profileName | default dict -}}
{{- range index . 1 -}}
{{- $ref := index . 0 -}}
{{- if not (and (hasKey $added $ref) (kindIs "invalid" (get $added $ref))) -}}
{{- $weight := ternary (get $added $ref) (index . 1) (hasKey $added $ref) -}}
{{- $refs = append $refs (include "ms.eppPluginRef" (list $ref $weight) | fromJson) -}}
{{- end -}}
{{- end -}}
{{- range $ref, $weight := $added -}}
{{- $known := false -}}
{{- range $refs }}{{ if eq .pluginRef $ref }}{{ $known = true }}{{ end }}{{ end -}}
{{- if and (not $known) (not (kindIs "invalid" $weight)) -}}
{{- $refs = append $refs (include "ms.eppPluginRef" (list $ref $weight) | fromJson) -}}
{{- end -}}
{{- end -}}
{{- $profiles = append $profiles (dict "name" $profileName "plugins" $refs) -}}
{{- end -}}
{{- $generation := include "ms.generation" . | fromJson -}}
{{- $config := dict
  "apiVersion" $generation.configApiVersion
  "kind" "EndpointPickerConfig"
  "plugins" $plugins
  "schedulingProfiles" $profiles -}}
{{- with $spec.dataLayer }}{{ $_ := set $config "dataLayer" . }}{{ end -}}
{{- $flow := include "ms.flowControl" $root | fromJson -}}
{{- if $flow.enabled -}}
{{- $_ := set $config "featureGates" (list "flowControl") -}}
{{- with $flow.config }}{{ $_ := set $config "flowControl" . }}{{ end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
{{- end -}}

{{/* One plugin entry: {type, name (when it differs from type), parameters}. */}}
{{- define "ms.eppPluginEntry" -}}
{{- $name := index . 0 -}}
{{- $spec := index . 1 -}}
{{- $entry := dict "type" ($spec.type | default $name) -}}
{{- if ne $entry.type $name }}{{ $_ := set $entry "name" $name }}{{ end -}}
{{- with $spec.parameters }}{{ $_ := set $entry "parameters" . }}{{ end -}}
{{- toJson $entry -}}
{{- end -}}

{{/* One scheduling-profile plugin reference; weight 0 is left out. */}}
{{- define "ms.eppPluginRef" -}}
{{- $ref := dict "pluginRef" (index . 0) -}}
{{- if index . 1 }}{{ $_ := set $ref "weight" (index . 1) }}{{ end -}}
{{- toJson $ref -}}
{{- end -}}

{{/* The EPP's flowControl section (llm-d-router v0.10.0 FlowControlConfig /
PriorityBandConfig in apix/config/v1alpha1/endpointpickerconfig_types.go) as JSON
{enabled, config}. Priority bands come from a map keyed by a name of your
choice, ordered by priority (highest first). */}}
{{- define "ms.flowControl" -}}
{{- $flow := (include "ms.routing" . | fromJson).epp.flowControl | default dict -}}
{{- $out := dict -}}
{{- if eq (toString $flow.enabled) "true" -}}
{{- if eq (include "ms.generation" . | fromJson).name "v1alpha2" -}}
{{- fail "routing.epp.flowControl needs routing.generation v1: the v1alpha2-generation EPP has no flow control" -}}
{{- end -}}
{{- range $key := list "maxBytes" "maxRequests" "defaultRequestTTL" "usageLimitPolicyPluginRef" -}}
{{- with get $flow $key }}{{ $_ := set $out $key (include "ms.scalar" .) }}{{ end -}}
{{- end -}}
{{- $bands := list -}}
{{- $byPriority := dict -}}
{{- range $name, $band := $flow.priorityBands | default dict -}}
{{- if $band -}}
{{- $key := printf "%020d" (add (int $band.priority) 1000000000) -}}
{{- if hasKey $byPriority $key -}}
{{- fail (printf "routing.epp.flowControl.priorityBands.%s has priority %d like another band: each band needs its own priority" $name (int $band.priority)) -}}
{{- end -}}
{{- $entry := dict "priority" (int $band.priority) -}}
{{- range $field := list "maxBytes" "maxRequests" "fairnessPolicyRef" "orderingPolicyRef" -}}
{{- with get $band $field }}{{ $_ := set $entry $field (include "ms.scalar" .) }}{{ end -}}
{{- end -}}
{{- $_ := set $byPriority $key $entry -}}
{{- end -}}
{{- end -}}
{{- range $key := keys $byPriority | sortAlpha | reverse -}}
{{- $bands = append $bands (get $byPriority $key) -}}
{{- end -}}
{{- with $bands }}{{ $_ := set $out "priorityBands" . }}{{ end -}}
{{- end -}}
{{- toJson (dict "enabled" (eq (toString $flow.enabled) "true") "config" $out) -}}
{{- end -}}
