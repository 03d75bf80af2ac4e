{{- /* Shared by hpa.yaml and scaledobject.yaml: what scales a role, and the Workload Variant
Autoscaler (WVA) discovery data. WVA facts are from llm-d/llm-d-workload-variant-autoscaler
v0.8.0 (contract data: modelservice_tool/contracts/workload-variant-autoscaler/v0.8.0/wva.yaml):
WVA finds an HPA or ScaledObject by its annotations (internal/annotations/annotations.go),
names the variant after that object (internal/utils/variant_fromannotations.go) and reports
wva_desired_replicas{variant_name=<that name>} (internal/metrics/metrics.go). Both objects are
named like the workload, so variant_name is the workload's name either way. */ -}}

{{- /* The workload a role's autoscaler scales: the Deployment, or the LeaderWorkerSet (scale
subresource) of a multi-node role. Argument: the role dict. JSON. */ -}}
{{- define "ms.scaleTarget" -}}
{{- if .multiNode.enabled -}}
{{- toJson (dict "apiVersion" "leaderworkerset.x-k8s.io/v1" "kind" "LeaderWorkerSet" "name" .name) -}}
{{- else -}}
{{- toJson (dict "apiVersion" "apps/v1" "kind" "Deployment" "name" .name) -}}
{{- end -}}
{{- end -}}

{{- /* WVA discovery of a role (list root role keda): enabled, the annotations and labels WVA
reads on the HPA/ScaledObject, and the label matchers of its wva_desired_replicas series
(`namespaceLabel` defaults to exported_namespace behind prometheus-adapter, namespace for a
KEDA query of Prometheus, as in WVA's config/samples/{hpa,keda}/annotations). JSON. */ -}}
{{- define "ms.wva" -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
{{- $keda := index . 2 -}}
{{- $wva := (($role.autoscaling | default dict).wva | default dict) -}}
{{- $out := dict "enabled" (eq $wva.enabled true) -}}
{{- if $out.enabled -}}
{{- $annotations := dict "llm-d.ai/managed" "true" "llm-d.ai/model-id" ($wva.modelId | default $role.model.name) -}}
{{- with $wva.variantCost }}{{ $_ := set $annotations "llm-d.ai/variant-cost" (toString .) }}{{ end -}}
{{- $labels := dict -}}
{{- with $wva.acceleratorName }}{{ $_ := set $labels "inference.optimization/acceleratorName" . }}{{ end -}}
{{- with $wva.controllerInstance }}{{ $_ := set $labels "wva.llmd.ai/controller-instance" . }}{{ end -}}
{{- $nsLabel := $wva.namespaceLabel | default (ternary "namespace" "exported_namespace" $keda) -}}
{{- $matchers := dict "variant_name" $role.name $nsLabel $root.Release.Namespace -}}
{{- with $wva.controllerInstance }}{{ $_ := set $matchers "controller_instance" . }}{{ end -}}
{{- $_ := set $out "annotations" $annotations -}}
{{- $_ := set $out "labels" $labels -}}
{{- $_ := set $out "matchers" $matchers -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* Fails on autoscaling settings that cannot apply to the object the role renders
(list roleName autoscaling). */ -}}
{{- define "ms.autoscalingChecks" -}}
{{- $roleName := index . 0 -}}
{{- $autoscaling := index . 1 -}}
{{- $min := int ($autoscaling.minReplicas | default 1) -}}
{{- $max := int ($autoscaling.maxReplicas | default 1) -}}
{{- if gt $min $max -}}
{{- fail (printf "%s.autoscaling: minReplicas (%d) is above maxReplicas (%d)" $roleName $min $max) -}}
{{- end -}}
{{- $keda := ($autoscaling.keda | default dict) -}}
{{- if eq $keda.enabled true -}}
{{- $hpaOnly := list -}}
{{- range $name, $metric := ($autoscaling.metrics | default dict) }}{{ if $metric }}{{ $hpaOnly = append $hpaOnly (printf "metrics.%s" $name) }}{{ end }}{{ end -}}
{{- range $name, $target := ($autoscaling.epp | default dict) }}{{ if $target }}{{ $hpaOnly = append $hpaOnly (printf "epp.%s" $name) }}{{ end }}{{ end -}}
{{- with $hpaOnly -}}
{{- fail (printf "%s.autoscaling.keda.enabled renders a KEDA ScaledObject instead of the HorizontalPodAutoscaler (KEDA creates and owns the HPA itself, and two HPAs on one workload fight), so the HPA metrics %s cannot apply: express them as autoscaling.keda.triggers, or set autoscaling.keda.enabled: false to keep the HPA" $roleName (join ", " .)) -}}
{{- end -}}
{{- $triggers := list -}}
{{- range $name, $trigger := ($keda.triggers | default dict) }}{{ if $trigger }}{{ $triggers = append $triggers $name }}{{ end }}{{ end -}}
{{- $refs := dict "keda.prometheus.authenticationRef" (($keda.prometheus | default dict).authenticationRef | default dict) -}}
{{- range $name := $triggers -}}
{{- $trigger := index $keda.triggers $name -}}
{{- if not $trigger.type -}}
{{- fail (printf "%s.autoscaling.keda.triggers.%s.type is missing: name the KEDA scaler (prometheus, cpu, ...)" $roleName $name) -}}
{{- end -}}
{{- $_ := set $refs (printf "keda.triggers.%s.authenticationRef" $name) ($trigger.authenticationRef | default dict) -}}
{{- end -}}
{{- range $path, $ref := $refs -}}
{{- if and (include "ms.compact" $ref | fromJson) (not $ref.name) -}}
{{- fail (printf "%s.autoscaling.%s.name is missing: name the TriggerAuthentication" $roleName $path) -}}
{{- end -}}
{{- end -}}
{{- $fallback := include "ms.compact" ($keda.fallback | default dict) | fromJson -}}
{{- if and $fallback (or (not (hasKey $fallback "failureThreshold")) (not (hasKey $fallback "replicas"))) -}}
{{- fail (printf "%s.autoscaling.keda.fallback needs both failureThreshold and replicas (KEDA requires both)" $roleName) -}}
{{- end -}}
{{- if not (or $triggers (eq (($autoscaling.wva | default dict).enabled) true)) -}}
{{- fail (printf "%s.autoscaling.keda: a ScaledObject needs at least one trigger: set %s.autoscaling.wva.enabled (scale on WVA's wva_desired_replicas) or add one under %s.autoscaling.keda.triggers" $roleName $roleName $roleName) -}}
{{- end -}}
{{- if and (eq (($autoscaling.wva | default dict).enabled) true) (has "wva-desired-replicas" $triggers) -}}
{{- fail (printf "%s.autoscaling.keda.triggers.wva-desired-replicas: that trigger name is the one autoscaling.wva adds, and KEDA refuses two triggers of one name: rename it" $roleName) -}}
{{- end -}}
{{- if and (eq (($autoscaling.wva | default dict).enabled) true) (not (($keda.prometheus | default dict).serverAddress)) -}}
{{- fail (printf "%s.autoscaling.wva with KEDA reads wva_desired_replicas from Prometheus: set %s.autoscaling.keda.prometheus.serverAddress (e.g. http://prometheus-operated.monitoring:9090)" $roleName $roleName) -}}
{{- end -}}
{{- end -}}
{{- end -}}
