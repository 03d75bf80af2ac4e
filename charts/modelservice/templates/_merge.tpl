{{/*
Value plumbing shared by every template.
*/}}

{{/* Deep-merge map `src` into map `dst` in place, with Helm's own semantics: maps merge,
anything else (false, 0, "", lists) replaces, null deletes. Call with (list $dst $src).
Sprig's merge helpers skip "empty" values such as false and 0, so they cannot be used here. */}}
{{- define "ms.merge" -}}
{{- $dst := index . 0 -}}
{{- range $key, $value := index . 1 -}}
{{- if kindIs "invalid" $value -}}
{{- $_ := unset $dst $key -}}
{{- else if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "ms.merge" (list (get $dst $key) $value) -}}
{{- else -}}
{{- $_ := set $dst $key (deepCopy $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Render a string through `tpl` with the template variables, only when it holds "{{".
Call with (list "string" $ctx). */}}
{{- define "ms.tpl" -}}
{{- $value := index . 0 | toString -}}
{{- if contains "{{" $value -}}
{{- tpl $value (index . 1) -}}
{{- else -}}
{{- $value -}}
{{- end -}}
{{- end -}}

{{/* A scalar as text: numbers without exponent notation (Helm reads 1000000 as 1e+06). */}}
{{- define "ms.scalar" -}}
{{- if kindIs "string" . -}}
{{- . -}}
{{- else -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}

{{/* A map without its null entries, recursively (a layer's `null` means "unset"), as JSON. */}}
{{- define "ms.compact" -}}
{{- $out := dict -}}
{{- range $key, $value := . -}}
{{- if kindIs "map" $value -}}
{{- $_ := set $out $key (include "ms.compact" $value | fromJson) -}}
{{- else if not (kindIs "invalid" $value) -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
