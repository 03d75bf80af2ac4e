{{/*
Names and labels. Selector labels hold only the chart name, the release and the role:
nothing an upgrade changes, because Deployment selectors are immutable.
*/}}

{{/* Chart name used in labels. */}}
{{- define "ms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Base name of every object: fullnameOverride or the release name, at most 55 characters
so that "-prefill" still fits a 63-character DNS label. */}}
{{- define "ms.fullname" -}}
{{- $name := default .Release.Name .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "object base name %q (the release name, or fullnameOverride) must start with a lowercase letter and hold only a-z, 0-9 and '-': Service names are DNS-1035 labels; set fullnameOverride" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* Name of a role's workload and Service. Call with (list $ "decode"). */}}
{{- define "ms.roleName" -}}
{{- printf "%s-%s" (include "ms.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{/* Name of the model pods' ServiceAccount. */}}
{{- define "ms.serviceAccountName" -}}
{{- if (.Values.serviceAccount | default dict).create -}}
{{- default (include "ms.fullname" .) (.Values.serviceAccount | default dict).name -}}
{{- else -}}
{{- default "default" (.Values.serviceAccount | default dict).name -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes label value made from any string (e.g. a model name with slashes). */}}
{{- define "ms.labelValue" -}}
{{- regexReplaceAll "[^A-Za-z0-9_.-]" . "-" | trunc 63 | trimAll "-_." -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "ms.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "ms.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: modelservice
{{- with include "ms.compact" (.Values.commonLabels | default dict) | fromJson }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of a role's pods. Call with (list $ "decode"). */}}
{{- define "ms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ms.name" (index . 0) | quote }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name | quote }}
llm-d.ai/role: {{ index . 1 }}
{{- end -}}

{{/* Extra labels of one role's objects. Call with the role name. */}}
{{- define "ms.componentLabels" -}}
app.kubernetes.io/component: {{ . }}
llm-d.ai/role: {{ . }}
{{- end -}}

{{/* Metadata of every namespaced object: name, namespace, labels, annotations.
Call with (dict "root" $ "name" "x" ["labels" "<extra label yaml>"] ["annotations" map]). */}}
{{- define "ms.metadata" -}}
name: {{ .name | quote }}
namespace: {{ .root.Release.Namespace | quote }}
labels:
  {{- include "ms.labels" .root | nindent 2 }}
  {{- with .labels }}
  {{- . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (include "ms.compact" (.annotations | default dict) | fromJson) (include "ms.compact" (.root.Values.commonAnnotations | default dict) | fromJson) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Facts the chart shares with the mst toolkit (files/facts.yaml: the device-plugin resource
and DRA DeviceClass of each accelerator type, the engine flags the chart manages), as JSON.
Parsed once per render and kept on the root context. Call with the root context. A copy
of the chart without the file stops here (`required`: no values can cause it, so no
helm-unittest suite can; tests/test_layout.py checks the message).
*/}}
{{- define "ms.facts" -}}
{{- if not (hasKey . "msFacts") -}}
{{- $text := required "files/facts.yaml is missing from the modelservice chart (left out by a .helmignore?): the templates read accelerator names and managed engine flags from it; restore it" (.Files.Get "files/facts.yaml") -}}
{{- $_ := set . "msFacts" ($text | fromYaml | toJson) -}}
{{- end -}}
{{- get . "msFacts" -}}
{{- end -}}

{{/* One fact of an accelerator type ("" for an unknown type); call with
(list $root type fact), fact being resource or deviceClass. */}}
{{- define "ms.acceleratorFact" -}}
{{- $accelerators := (include "ms.facts" (index . 0) | fromJson).accelerators -}}
{{- dig (index . 1) (index . 2) "" $accelerators -}}
{{- end -}}
