{{/*
Model artifacts: one volume, one mount, the environment and the engine's model argument,
for each URI scheme. Returns JSON with keys scheme, name, hfRepo, modelArg, mountedPath,
volume, mount, env.

  hf://org/model              emptyDir (sizeLimit model.size) at mountPath, HF_HOME=mountPath,
                              model argument org/model (the engine downloads it)
  pvc://claim/dir             the claim at mountPath (read-only by default),
                              model argument mountPath/dir
  pvc+hf://claim/cache/org/m  the claim at mountPath, HF_HUB_CACHE=mountPath/cache,
                              model argument org/m (HF_HUB_OFFLINE=1 when read-only)
  oci://registry/repo:tag     an image volume (Kubernetes >= 1.31, ImageVolume) at mountPath,
                              model argument mountPath/imagePath
*/}}
{{- define "ms.model" -}}
{{- $m := .Values.model | default dict -}}
{{- $uri := $m.uri | default "" -}}
{{- if not $uri -}}
{{- fail "model.uri is required: set it in your model values file, e.g. `model: {uri: hf://Qwen/Qwen3-0.6B}` (schemes: hf://, pvc://, pvc+hf://, oci://)" -}}
{{- end -}}
{{- $parts := regexSplit "://" $uri 2 -}}
{{- $scheme := index $parts 0 -}}
{{- $rest := index $parts 1 | trimAll "/" -}}
{{- $mountPath := $m.mountPath | default "/model-cache" | trimSuffix "/" -}}
{{- $readOnly := ternary true $m.readOnly (kindIs "invalid" $m.readOnly) -}}
{{- $out := dict "scheme" $scheme "hfRepo" "" "env" (dict) -}}
{{- $mount := dict "name" "model-storage" "mountPath" $mountPath -}}
{{- $volume := dict "name" "model-storage" -}}
{{- $defaultName := "" -}}
{{- if eq $scheme "hf" -}}
  {{- if not (regexMatch "^[^/]+(/[^/]+)?$" $rest) -}}
  {{- fail (printf "model.uri %q: an hf:// URI names one repository, hf://org/model" $uri) -}}
  {{- end -}}
  {{- $_ := set $out "hfRepo" $rest -}}
  {{- $_ := set $out "modelArg" $rest -}}
  {{- $_ := set $out "mountedPath" $mountPath -}}
  {{- $_ := set $volume "emptyDir" (ternary (dict) (dict "sizeLimit" $m.size) (empty $m.size)) -}}
  {{- $_ := set $out.env "HF_HOME" $mountPath -}}
  {{- $defaultName = $rest -}}
{{- else if eq $scheme "pvc" -}}
  {{- $segments := splitList "/" $rest -}}
  {{- $claim := first $segments -}}
  {{- $path := rest $segments | join "/" -}}
  {{- $_ := set $volume "persistentVolumeClaim" (dict "claimName" $claim "readOnly" $readOnly) -}}
  {{- $_ := set $mount "readOnly" $readOnly -}}
  {{- $_ := set $out "mountedPath" (ternary $mountPath (printf "%s/%s" $mountPath $path) (empty $path)) -}}
  {{- $_ := set $out "modelArg" $out.mountedPath -}}
  {{- $defaultName = last $segments -}}
{{- else if eq $scheme "pvc+hf" -}}
  {{- $segments := splitList "/" $rest -}}
  {{- if lt (len $segments) 3 -}}
  {{- fail (printf "model.uri %q: a pvc+hf:// URI is pvc+hf://<claim>/<hub cache dir>/<org>/<model> (the cache dir may be empty: pvc+hf://<claim>/<org>/<model>)" $uri) -}}
  {{- end -}}
  {{- $n := len $segments -}}
  {{- $repo := slice $segments (sub $n 2 | int) | join "/" -}}
  {{- $cache := slice $segments 1 (sub $n 2 | int) | join "/" -}}
  {{- $cacheDir := ternary $mountPath (printf "%s/%s" $mountPath $cache) (empty $cache) -}}
  {{- $_ := set $volume "persistentVolumeClaim" (dict "claimName" (first $segments) "readOnly" $readOnly) -}}
  {{- $_ := set $mount "readOnly" $readOnly -}}
  {{- $_ := set $out "hfRepo" $repo -}}
  {{- $_ := set $out "modelArg" $repo -}}
  {{- $_ := set $out "mountedPath" $cacheDir -}}
  {{- $_ := set $out.env "HF_HUB_CACHE" $cacheDir -}}
  {{- if $readOnly -}}
  {{- $_ := set $out.env "HF_HUB_OFFLINE" "1" -}}
  {{- end -}}
  {{- $defaultName = $repo -}}
{{- else if eq $scheme "oci" -}}
  {{- $imagePath := $m.imagePath | default "" | trimAll "/" -}}
  {{- $_ := set $volume "image" (dict "reference" $rest "pullPolicy" ($m.imagePullPolicy | default "IfNotPresent")) -}}
  {{- $_ := set $mount "readOnly" true -}}
  {{- $_ := set $out "mountedPath" (ternary $mountPath (printf "%s/%s" $mountPath $imagePath) (empty $imagePath)) -}}
  {{- $_ := set $out "modelArg" $out.mountedPath -}}
  {{- $defaultName = regexReplaceAll "[:@].*$" (last (splitList "/" $rest)) "" -}}
{{- else -}}
  {{- fail (printf "model.uri %q: unknown scheme %q; use hf://, pvc://, pvc+hf:// or oci://" $uri $scheme) -}}
{{- end -}}
{{- $_ := set $out "name" ($m.name | default $defaultName) -}}
{{- $_ := set $out "volume" $volume -}}
{{- $_ := set $out "mount" $mount -}}
{{- toJson $out -}}
{{- end -}}
