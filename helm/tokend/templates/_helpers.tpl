{{/* Names and labels. */}}
{{- define "tokend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokend.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tokend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The server's pods (not the migration Job's pods, which the Service must not select). */}}
{{- define "tokend.serverSelectorLabels" -}}
{{ include "tokend.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "tokend.labels" -}}
helm.sh/chart: {{ include "tokend.chart" . }}
{{ include "tokend.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokend
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tokend.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokend.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tokend.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Object names. */}}
{{- define "tokend.configMapName" -}}{{ include "tokend.fullname" . }}-config{{- end }}
{{- define "tokend.dbSecretName" -}}
{{- default (printf "%s-db" (include "tokend.fullname" .)) .Values.postgresql.existingSecret }}
{{- end }}
{{- define "tokend.signingKeysSecretName" -}}
{{- default (printf "%s-signing-keys" (include "tokend.fullname" .)) .Values.signingKeys.existingSecret }}
{{- end }}
{{- define "tokend.refreshSecretName" -}}
{{- default (printf "%s-refresh-secret" (include "tokend.fullname" .)) .Values.refreshSecret.existingSecret }}
{{- end }}
{{- define "tokend.kekSecretName" -}}
{{- default (printf "%s-kek" (include "tokend.fullname" .)) .Values.keyRotation.kek.existingSecret }}
{{- end }}
{{- define "tokend.migrateServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- printf "%s-migrate" (include "tokend.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "tokend.serviceAccountName" . }}
{{- end }}
{{- end }}

{{/* Whether tokend talks to PostgreSQL. */}}
{{- define "tokend.postgres" -}}
{{- if eq .Values.store.type "postgresql" }}true{{ end }}
{{- end }}

{{/* Whether a database password reaches the pods (PGPASSWORD), and from which Secret. */}}
{{- define "tokend.dbPassword" -}}
{{- if and (include "tokend.postgres" .) (not .Values.postgresql.existingSecretDsnKey) (or .Values.postgresql.existingSecret .Values.postgresql.password) }}true{{ end }}
{{- end }}

{{/* The chart creates the database Secret only for a password given in values. */}}
{{- define "tokend.createDbSecret" -}}
{{- if and (include "tokend.postgres" .) (not .Values.postgresql.existingSecret) .Values.postgresql.password }}true{{ end }}
{{- end }}

{{/*
The --store value when the DSN is not taken from a Secret: a postgresql:// URI without the
password (libpq reads PGPASSWORD), so no credential ever lands in the ConfigMap.
*/}}
{{- define "tokend.storeUri" -}}
{{- if not (include "tokend.postgres" .) -}}
memory
{{- else -}}
{{- $p := .Values.postgresql -}}
{{- $params := dict "sslmode" $p.sslmode -}}
{{- range $k, $v := $p.params }}{{ $_ := set $params $k (toString $v) }}{{ end -}}
{{- $query := list -}}
{{- range $k := keys $params | sortAlpha }}{{ $query = append $query (printf "%s=%s" $k (get $params $k | urlquery)) }}{{ end -}}
postgresql://{{ $p.user | urlquery }}@{{ $p.host }}:{{ $p.port }}/{{ $p.database | urlquery }}?{{ join "&" $query }}
{{- end -}}
{{- end }}

{{/* Environment that carries database credentials (server and migrate containers). */}}
{{- define "tokend.dbEnv" -}}
{{- if and (include "tokend.postgres" .) .Values.postgresql.existingSecretDsnKey }}
- name: TOKEND_STORE
  valueFrom:
    secretKeyRef:
      name: {{ include "tokend.dbSecretName" . }}
      key: {{ .Values.postgresql.existingSecretDsnKey }}
{{- else if include "tokend.dbPassword" . }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "tokend.dbSecretName" . }}
      key: {{ if .Values.postgresql.existingSecret }}{{ .Values.postgresql.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}
{{- end }}

{{/* --store, unless TOKEND_STORE comes from a Secret (a flag would override the env). */}}
{{- define "tokend.storeFlag" -}}
{{- if not (and (include "tokend.postgres" .) .Values.postgresql.existingSecretDsnKey) -}}
--store={{ include "tokend.storeUri" . }}
{{- end -}}
{{- end }}

{{- define "tokend.issuer" -}}
{{- default (printf "http://%s.%s.svc.%s:%d" (include "tokend.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.service.httpPort)) .Values.config.issuer }}
{{- end }}

{{- define "tokend.signingKeyFiles" -}}
{{- if .Values.signingKeys.existingSecret }}
{{- join "," (default (list "signing-key.pem") .Values.signingKeys.files) }}
{{- else }}signing-key.pem{{- end }}
{{- end }}

{{/* Mount points inside the pod. */}}
{{- define "tokend.paths.config" -}}/etc/tokend/config{{- end }}
{{- define "tokend.paths.keys" -}}/etc/tokend/keys{{- end }}
{{- define "tokend.paths.refresh" -}}/etc/tokend/refresh{{- end }}
{{- define "tokend.paths.tls" -}}/etc/tokend/tls{{- end }}
{{- define "tokend.paths.kek" -}}/etc/tokend/kek{{- end }}
{{- define "tokend.paths.previousKek" -}}/etc/tokend/previous-kek{{- end }}

{{/*
The flag file (Abseil --flagfile): every setting of the server, one flag a line. Unknown flags
make tokend refuse to start, so a typo cannot be silently ignored.
*/}}
{{- define "tokend.flagfile" -}}
{{- $c := .Values.config -}}
# tokend flags, rendered by the Helm chart {{ include "tokend.chart" . }}. One flag a line.
--grpc_listen={{ .Values.listenHost }}:{{ .Values.containerPorts.grpc }}
--http_listen={{ .Values.listenHost }}:{{ .Values.containerPorts.http }}
{{- with include "tokend.storeFlag" . }}
{{ . }}
{{- end }}
--issuer={{ include "tokend.issuer" . }}
{{- if not .Values.keyRotation.enabled }}
--signing_key={{ $dir := include "tokend.paths.keys" . }}{{ $files := list }}{{ range splitList "," (include "tokend.signingKeyFiles" .) }}{{ $files = append $files (printf "%s/%s" $dir .) }}{{ end }}{{ join "," $files }}
{{- end }}
--access_ttl_default={{ $c.accessTtlDefault }}
--access_ttl_max={{ $c.accessTtlMax }}
--refresh_ttl={{ $c.refreshTtl }}
--refresh_family_ttl={{ $c.refreshFamilyTtl }}
--refresh_reuse_grace={{ $c.refreshReuseGrace }}
--clock_skew={{ $c.clockSkew }}
--jwks_max_age={{ $c.jwksMaxAge }}
--denylist_max_staleness={{ $c.denylist.maxStaleness }}
--denylist_fail_open={{ $c.denylist.failOpen }}
--denylist_reload_interval={{ $c.denylist.reloadInterval }}
--db_pool_size={{ .Values.postgresql.poolSize }}
--db_timeout={{ .Values.postgresql.timeout }}
--refresh_secret_file={{ include "tokend.paths.refresh" . }}/{{ if .Values.refreshSecret.existingSecret }}{{ .Values.refreshSecret.existingSecretKey }}{{ else }}refresh-secret{{ end }}
--drain_timeout={{ $c.drainTimeoutSeconds }}s
--prune_interval={{ .Values.pruning.interval }}
--prune_batch_size={{ .Values.pruning.batchSize }}
{{- if .Values.tls.enabled }}
--tls_cert={{ include "tokend.paths.tls" . }}/tls.crt
--tls_key={{ include "tokend.paths.tls" . }}/tls.key
{{- if .Values.tls.clientAuth }}
--tls_client_ca={{ include "tokend.paths.tls" . }}/ca.crt
{{- end }}
--tls_reload_interval={{ .Values.tls.reloadInterval }}
{{- else }}
--insecure=true
{{- end }}
{{- if .Values.istio.enabled }}
--trust_forwarded_client_cert=true
--trusted_proxy={{ join "," .Values.istio.trustedProxies }}
{{- end }}
{{- if .Values.policy.enabled }}
--policy_file={{ include "tokend.paths.config" . }}/policy.yaml
{{- end }}
{{- if .Values.auditLog.enabled }}
--audit_log={{ .Values.auditLog.path }}
{{- end }}
{{- if .Values.keyRotation.enabled }}
--kek_file={{ include "tokend.paths.kek" . }}/{{ if .Values.keyRotation.kek.existingSecret }}{{ .Values.keyRotation.kek.existingSecretKey }}{{ else }}kek{{ end }}
{{- if .Values.keyRotation.previousKek.existingSecret }}
--previous_kek_file={{ include "tokend.paths.previousKek" . }}/{{ .Values.keyRotation.previousKek.existingSecretKey }}
{{- end }}
--key_rotation_period={{ .Values.keyRotation.period }}
--key_reload_interval={{ .Values.keyRotation.reloadInterval }}
--signing_alg={{ .Values.keyRotation.algorithm }}
--key_admin_rpcs={{ .Values.keyRotation.adminRpcs }}
{{- end }}
{{- range $k, $v := $c.extraFlags }}
--{{ $k }}={{ $v }}
{{- end }}
{{- end }}

{{/*
Checksum of the settings behind the Secrets the chart manages, so that a changed password or
secret name rolls the pods. Generated values are kept by lookup and do not change.
*/}}
{{- define "tokend.secretsChecksum" -}}
{{- $v := .Values -}}
{{- toJson (list $v.postgresql.password $v.postgresql.existingSecret $v.postgresql.existingSecretPasswordKey $v.postgresql.existingSecretDsnKey $v.signingKeys $v.refreshSecret $v.tls $v.keyRotation.kek $v.keyRotation.previousKek) | sha256sum }}
{{- end }}

{{/* Values that cannot be expressed in values.schema.json. */}}
{{- define "tokend.validate" -}}
{{- $grace := int (default 0 .Values.terminationGracePeriodSeconds) }}
{{- $min := add (int .Values.config.drainTimeoutSeconds) (int .Values.preStopSleepSeconds) }}
{{- if and .Values.terminationGracePeriodSeconds (le $grace $min) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.drainTimeoutSeconds + preStopSleepSeconds (%d)" $grace $min) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- if and (eq .Values.store.type "memory") (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "store.type=memory keeps revocations and refresh tokens in one process: run replicaCount=1 without autoscaling, or use store.type=postgresql" }}
{{- end }}
{{- if and (not .Values.policy.enabled) (not .Values.tls.enabled) }}
{{- fail "policy.enabled=false without tls.enabled: tokend with --insecure and no policy file allows every RPC to every caller (development only). Keep policy.enabled and list your callers (docs/security.md)" }}
{{- end }}
{{- if and .Values.istio.enabled .Values.tls.enabled }}
{{- fail "istio.enabled and tls.enabled: choose one. With istio.enabled the sidecar terminates mTLS and tokend trusts its x-forwarded-client-cert; with tls.enabled tokend terminates TLS itself" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret, e.g. from cert-manager)" }}
{{- end }}
{{- end }}
