{{/*
Accelerators through Dynamic Resource Allocation (resource.k8s.io/v1, GA in Kubernetes 1.34).
"ms.dra" resolves one role's claims; call with
(dict "root" $ "role" "decode" "name" $roleName "pod" $mergedPod "count" $acceleratorCount)
and it returns JSON:
  enabled        the role's accelerators come from a ResourceClaimTemplate
  templateName   that template's name (role name + hash of its spec: the spec is immutable,
                 so a changed claim is a new template and the pods roll onto it)
  spec           the template's spec.spec (devices.requests / devices.constraints)
  podClaims      pod spec.resourceClaims: the accelerator claim, then `resourceClaims` by name
  containerClaims engine container resources.claims
*/}}

{{/* One DeviceRequest {name, exactly} from the values of a request. */}}
{{- define "ms.draRequest" -}}
{{- $request := .request -}}
{{- $exactly := dict "deviceClassName" .deviceClassName "allocationMode" "ExactCount" "count" (int .count) -}}
{{- $selectors := list -}}
{{- range $name, $expression := $request.selectors | default dict -}}
{{- if $expression }}{{ $selectors = append $selectors (dict "cel" (dict "expression" $expression)) }}{{ end -}}
{{- end -}}
{{- with $selectors }}{{ $_ := set $exactly "selectors" . }}{{ end -}}
{{- toJson (dict "name" .name "exactly" $exactly) -}}
{{- end -}}

{{- define "ms.dra" -}}
{{- $root := .root -}}
{{- $role := .role -}}
{{- $pod := .pod -}}
{{- $acc := $pod.accelerator | default dict -}}
{{- $dra := $acc.dra | default dict -}}
{{- $extra := include "ms.compact" ($pod.resourceClaims | default dict) | fromJson -}}
{{- $out := dict "enabled" (eq (toString $dra.enabled) "true") "podClaims" list "containerClaims" list -}}
{{- if or $out.enabled $extra -}}
{{- $kube := $root.Capabilities.KubeVersion.Version -}}
{{- if not (and ($root.Capabilities.APIVersions.Has "resource.k8s.io/v1") (semverCompare ">=1.34.0-0" $kube)) -}}
{{- fail (printf "%s: accelerator.dra / resourceClaims need Dynamic Resource Allocation (resource.k8s.io/v1, GA in Kubernetes 1.34) but the target cluster is %s%s: upgrade the cluster, or request accelerators through the device plugin (accelerator.dra.enabled: false, resourceClaims removed)" $role $kube (ternary "" " without resource.k8s.io/v1" ($root.Capabilities.APIVersions.Has "resource.k8s.io/v1"))) -}}
{{- end -}}
{{- end -}}
{{- if $out.enabled -}}
{{- $class := $dra.deviceClassName | default (include "ms.acceleratorFact" (list $root ($acc.type | default "nvidia") "deviceClass")) -}}
{{- if not $class -}}
{{- fail (printf "%s.accelerator.dra.enabled is true but accelerator.type %s has no DeviceClass: set accelerator.dra.deviceClassName (e.g. gpu.nvidia.com)" $role (toString $acc.type)) -}}
{{- end -}}
{{- $count := int .count -}}
{{- if not (kindIs "invalid" $dra.count) }}{{ $count = int $dra.count }}{{ end -}}
{{- if lt $count 1 -}}
{{- fail (printf "%s.accelerator.dra: the claim would request %d devices: set accelerator.dra.count (at least 1) or parallelism" $role $count) -}}
{{- end -}}
{{- $requests := list (include "ms.draRequest" (dict "name" "accelerator" "request" $dra "deviceClassName" $class "count" $count) | fromJson) -}}
{{- $names := list "accelerator" -}}
{{- range $name, $request := $dra.requests | default dict -}}
{{- if $request -}}
{{- if eq $name "accelerator" -}}
{{- fail (printf "%s.accelerator.dra.requests.accelerator: that name is the accelerator request itself; give the extra request another name (e.g. nic)" $role) -}}
{{- end -}}
{{- if not $request.deviceClassName -}}
{{- fail (printf "%s.accelerator.dra.requests.%s.deviceClassName is empty: name the DeviceClass to allocate from (kubectl get deviceclasses)" $role $name) -}}
{{- end -}}
{{- $requests = append $requests (include "ms.draRequest" (dict "name" $name "request" $request "deviceClassName" $request.deviceClassName "count" (ternary 1 $request.count (kindIs "invalid" $request.count))) | fromJson) -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- $devices := dict "requests" $requests -}}
{{- $constraints := list -}}
{{- range $name, $constraint := $dra.constraints | default dict -}}
{{- if $constraint -}}
{{- $members := $constraint.requests | default $names -}}
{{- range $members -}}
{{- if not (has . $names) -}}
{{- fail (printf "%s.accelerator.dra.constraints.%s.requests names %q, which is not a request of the claim (it has: %s): add it under accelerator.dra.requests or fix the name" $role $name . (join ", " $names)) -}}
{{- end -}}
{{- end -}}
{{- $constraints = append $constraints (dict "requests" $members "matchAttribute" $constraint.matchAttribute) -}}
{{- end -}}
{{- end -}}
{{- with $constraints }}{{ $_ := set $devices "constraints" . }}{{ end -}}
{{- $spec := dict "devices" $devices -}}
{{- $templateName := printf "%s-%s" .name (toJson $spec | sha256sum | trunc 8) -}}
{{- $_ := set $out "spec" $spec -}}
{{- $_ := set $out "templateName" $templateName -}}
{{- $_ := set $out "podClaims" (list (dict "name" "accelerators" "resourceClaimTemplateName" $templateName)) -}}
{{- $_ := set $out "containerClaims" (list (dict "name" "accelerators")) -}}
{{- end -}}
{{- range $name, $claim := $extra -}}
{{- if eq $name "accelerators" -}}
{{- fail (printf "%s.resourceClaims.accelerators: that name is the chart's accelerator claim (accelerator.dra); pick another name" $role) -}}
{{- end -}}
{{- if eq (len (compact (list $claim.resourceClaimTemplateName $claim.resourceClaimName))) 1 | not -}}
{{- fail (printf "%s.resourceClaims.%s: set exactly one of resourceClaimTemplateName (a claim per pod) or resourceClaimName (one claim the pods share)" $role $name) -}}
{{- end -}}
{{- $_ := set $out "podClaims" (append $out.podClaims (merge (dict "name" $name) (pick $claim "resourceClaimTemplateName" "resourceClaimName"))) -}}
{{- $containerClaim := dict "name" $name -}}
{{- with $claim.request }}{{ $_ := set $containerClaim "request" . }}{{ end -}}
{{- $_ := set $out "containerClaims" (append $out.containerClaims $containerClaim) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
