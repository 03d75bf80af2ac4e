{{/*
Static LoRA adapters (lora.adapters, keyed by served adapter name), registered at start.
Returns JSON {enabled, names, args, volumes, mounts, downloader}:
  hf://org/adapter   downloaded by the `lora-download` init container into an emptyDir at
                     /lora/<name>
  pvc://claim/dir    the claim mounted read-only (subPath dir) at /lora-pvc/<name>
  oci://image:tag    an image volume mounted (read-only) at /lora-oci/<name>[/imagePath]
args: --enable-lora --lora-modules name=path... [--max-loras=N] [--max-lora-rank=R]
*/}}
{{- define "ms.lora" -}}
{{- $lora := .Values.lora | default dict -}}
{{- $adapters := $lora.adapters | default dict -}}
{{- $out := dict "enabled" false "names" (list) "args" (list) "volumes" (list) "mounts" (list) -}}
{{- $modules := list -}}
{{- $downloads := list -}}
{{- range $name, $adapter := $adapters -}}
{{- if $adapter -}}
  {{- if not (regexMatch "^[A-Za-z0-9][A-Za-z0-9._-]*$" $name) -}}
  {{- fail (printf "lora.adapters.%s: adapter names become paths and served names: use letters, digits, '.', '_' and '-'" $name) -}}
  {{- end -}}
  {{- $parts := regexSplit "://" ($adapter.uri | default "") 2 -}}
  {{- if ne (len $parts) 2 -}}
  {{- fail (printf "lora.adapters.%s.uri is required: hf://org/adapter, pvc://claim/dir or oci://registry/image:tag" $name) -}}
  {{- end -}}
  {{- $scheme := index $parts 0 -}}
  {{- $rest := index $parts 1 | trimAll "/" -}}
  {{- $volume := printf "lora-%s" ($name | lower | replace "_" "-" | replace "." "-" | trunc 50 | trimSuffix "-") -}}
  {{- $path := "" -}}
  {{- if eq $scheme "hf" -}}
    {{- $path = printf "/lora/%s" $name -}}
    {{- $downloads = append $downloads (dict "repo" $rest "revision" ($adapter.revision | default "") "dir" $path) -}}
  {{- else if eq $scheme "pvc" -}}
    {{- $segments := splitList "/" $rest -}}
    {{- $path = printf "/lora-pvc/%s" $name -}}
    {{- $_ := set $out "volumes" (append $out.volumes (dict "name" $volume "persistentVolumeClaim" (dict "claimName" (first $segments) "readOnly" true))) -}}
    {{- $mount := dict "name" $volume "mountPath" $path "readOnly" true -}}
    {{- with rest $segments | join "/" }}{{ $_ := set $mount "subPath" . }}{{ end -}}
    {{- $_ := set $out "mounts" (append $out.mounts $mount) -}}
  {{- else if eq $scheme "oci" -}}
    {{- $mountPath := printf "/lora-oci/%s" $name -}}
    {{- $path = $mountPath -}}
    {{- with $adapter.imagePath | default "" | trimAll "/" }}{{ $path = printf "%s/%s" $mountPath . }}{{ end -}}
    {{- $_ := set $out "volumes" (append $out.volumes (dict "name" $volume "image" (dict "reference" $rest "pullPolicy" "IfNotPresent"))) -}}
    {{- $_ := set $out "mounts" (append $out.mounts (dict "name" $volume "mountPath" $mountPath "readOnly" true)) -}}
  {{- else -}}
    {{- fail (printf "lora.adapters.%s.uri %q: unknown scheme %q; use hf://, pvc:// or oci://" $name $adapter.uri $scheme) -}}
  {{- end -}}
  {{- $modules = append $modules (printf "%s=%s" $name $path) -}}
  {{- $_ := set $out "names" (append $out.names $name) -}}
{{- end -}}
{{- end -}}
{{- if $modules -}}
{{- $_ := set $out "enabled" true -}}
{{- $args := concat (list "--enable-lora" "--lora-modules") $modules -}}
{{- with $lora.maxLoras }}{{ $args = append $args (printf "--max-loras=%d" (int .)) }}{{ end -}}
{{- with $lora.maxLoraRank }}{{ $args = append $args (printf "--max-lora-rank=%d" (int .)) }}{{ end -}}
{{- $_ := set $out "args" $args -}}
{{- end -}}
{{- if $downloads -}}
{{- $_ := set $out "volumes" (prepend $out.volumes (dict "name" "lora-downloads" "emptyDir" (dict "sizeLimit" ($lora.downloadSize | default "10Gi")))) -}}
{{- $_ := set $out "mounts" (prepend $out.mounts (dict "name" "lora-downloads" "mountPath" "/lora" "readOnly" true)) -}}
{{- $script := list "from huggingface_hub import snapshot_download" -}}
{{- range $downloads -}}
{{- $script = append $script (printf "snapshot_download(repo_id=%s, revision=%s, local_dir=%s)" (toJson .repo) (ternary "None" (toJson .revision) (empty .revision)) (toJson .dir)) -}}
{{- end -}}
{{- $_ := set $out "downloader" (dict "script" (join "\n" $script)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
