{{/*
Template variables available inside string values (engine args, extraArgs, env values,
command, extraObjects) through `tpl`. The names follow the llm-d seeds' BaseConfig.
"ms.contextVars" returns them as JSON; "ms.fillContext" fills a dict in place with them plus
.Values, .Release, .Chart, .Capabilities and .Template (which `tpl` needs):
  {{- $ctx := dict -}}{{- include "ms.fillContext" (list $ $ctx) -}}
*/}}
{{- define "ms.contextVars" -}}
{{- $model := include "ms.model" . | fromJson -}}
{{- $port := (.Values.engine | default dict).port | default 8000 -}}
{{- toJson (dict
  "ModelName" $model.name
  "HFModelName" $model.hfRepo
  "ModelPath" $model.modelArg
  "MountedModelPath" $model.mountedPath
  "ReleaseName" .Release.Name
  "Namespace" .Release.Namespace
  "DecodeDeploymentName" (include "ms.roleName" (list . "decode"))
  "PrefillDeploymentName" (include "ms.roleName" (list . "prefill"))
  "DecodeServiceName" (include "ms.roleName" (list . "decode"))
  "PrefillServiceName" (include "ms.roleName" (list . "prefill"))
  "EPPServiceName" (include "ms.roleName" (list . "epp"))
  "InferencePoolName" (include "ms.fullname" .)
  "Ports" (dict "engine" $port)
) -}}
{{- end -}}

{{- define "ms.fillContext" -}}
{{- $root := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- range $key, $value := include "ms.contextVars" $root | fromJson -}}
{{- $_ := set $ctx $key $value -}}
{{- end -}}
{{- $_ := set $ctx "Values" $root.Values -}}
{{- $_ := set $ctx "Release" $root.Release -}}
{{- $_ := set $ctx "Chart" $root.Chart -}}
{{- $_ := set $ctx "Capabilities" $root.Capabilities -}}
{{- $_ := set $ctx "Template" $root.Template -}}
{{- end -}}
