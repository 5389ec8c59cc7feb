{{/*
Names. The fullname is the release name, unless the release name already says the chart's name.
*/}}
{{- define "yunfab-hub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yunfab-hub.fullname" -}}
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

{{- define "yunfab-hub.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (app.kubernetes.io/*) on every object. */}}
{{- define "yunfab-hub.labels" -}}
helm.sh/chart: {{ include "yunfab-hub.chart" . }}
{{ include "yunfab-hub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: yunfab
{{- end }}

{{- define "yunfab-hub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "yunfab-hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "yunfab-hub.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{- define "yunfab-hub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "yunfab-hub.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding database-url and signing-key-passphrase. */}}
{{- define "yunfab-hub.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "yunfab-hub.fullname" .) }}
{{- end }}

{{/* The Secret the migrations job reads: created with the job when the chart owns the secrets. */}}
{{- define "yunfab-hub.migrationsSecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-migrations" (include "yunfab-hub.fullname" .)) }}
{{- end }}

{{- define "yunfab-hub.dataDir" -}}/var/lib/yunfab{{- end }}
{{- define "yunfab-hub.port" -}}8700{{- end }}

{{/*
Required values: rendering stops with one line naming the value, as the hub itself does for a
bad setting. Nothing secret has a default.
*/}}
{{- define "yunfab-hub.validate" -}}
{{- $url := required "publicUrl is required: the https:// URL clients reach the hub at (the token issuer, YUNFAB_HUB_PUBLIC_URL)" .Values.publicUrl }}
{{- if not (hasPrefix "https://" $url) }}
{{- fail (printf "publicUrl must be an https:// URL (got %q): the hub refuses to start in production without one" $url) }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- $db := required "secrets.databaseUrl is required (postgresql://USER:PASSWORD@HOST:5432/DB), or name an existing Secret with the keys database-url and signing-key-passphrase in secrets.existingSecret" .Values.secrets.databaseUrl }}
{{- if not (or (hasPrefix "postgresql://" $db) (hasPrefix "postgres://" $db)) }}
{{- fail "secrets.databaseUrl must be a postgresql:// URL: on Kubernetes the hub runs on PostgreSQL" }}
{{- end }}
{{- $_ := required "secrets.signingKeyPassphrase is required: it encrypts the hub's token signing keys at rest (or use secrets.existingSecret)" .Values.secrets.signingKeyPassphrase }}
{{- end }}
{{- if .Values.flower.enabled }}
{{- $_ := required "flower.tls.secretName is required with flower.enabled: a Secret with ca.crt, tls.crt and tls.key for the SuperLink (e.g. from cert-manager)" .Values.flower.tls.secretName }}
{{- end }}
{{- if and (eq .Values.policy.engine "opa") (not .Values.policy.opa.image.repository) }}
{{- fail "policy.opa.image.repository is required with policy.engine=opa" }}
{{- end }}
{{- end }}

{{/* Pod-wide environment that is not a Yunfab setting: writable caches on a read-only root. */}}
{{- define "yunfab-hub.processEnv" -}}
- name: HOME
  value: /tmp
- name: MPLCONFIGDIR
  value: /tmp/matplotlib
- name: XDG_CACHE_HOME
  value: /tmp/cache
{{- if .Values.caBundle.configMap }}
- name: SSL_CERT_FILE
  value: /etc/yunfab/ca/{{ .Values.caBundle.key }}
{{- end }}
{{- end }}

{{/*
YUNFAB_HUB_* settings that come from the free-form `settings` map. Lists go as JSON, as
pydantic-settings reads them; numbers too, so that a large one is not written in exponent
notation. A null leaves the setting at its default.
*/}}
{{- define "yunfab-hub.settingsEnv" -}}
{{- range $key, $value := .Values.settings }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ printf "YUNFAB_HUB_%s" (upper $key) }}
  value: {{ if kindIs "string" $value }}{{ $value | quote }}{{ else }}{{ toJson $value | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Settings every hub process (server and migrations job) needs. */}}
{{- define "yunfab-hub.coreEnv" -}}
- name: YUNFAB_HUB_ENV
  value: production
- name: YUNFAB_HUB_DATA_DIR
  value: {{ include "yunfab-hub.dataDir" . | quote }}
- name: YUNFAB_HUB_PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
{{- end }}

{{- define "yunfab-hub.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/*
The scaled-out profile (scaleOut.enabled): API replicas behind a PodDisruptionBudget and an
autoscaler, `yunfab hub worker` processes of their own, the SuperLink in a pod of its own
(in-memory state), events and jobs on NATS, files in S3, and no PersistentVolumeClaim.
*/}}
{{- define "yunfab-hub.workerName" -}}
{{- printf "%s-worker" (include "yunfab-hub.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yunfab-hub.superlinkName" -}}
{{- printf "%s-superlink" (include "yunfab-hub.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* What the hub's processes dial: the SuperLink in their pod, or (scaled out) its Service. */}}
{{- define "yunfab-hub.flowerAddress" -}}
{{- if .Values.flower.hubAddress }}
{{- .Values.flower.hubAddress }}
{{- else if .Values.scaleOut.enabled }}
{{- printf "%s-flower:%v" (include "yunfab-hub.fullname" .) .Values.flower.port }}
{{- else }}
{{- printf "localhost:%v" .Values.flower.port }}
{{- end }}
{{- end }}

{{/*
What the scaled-out profile cannot run without, beyond values.schema.json (which refuses a
local blob store and a missing nats_url): one line naming the value.
*/}}
{{- define "yunfab-hub.validateScaleOut" -}}
{{- if .Values.scaleOut.enabled }}
{{- $_ := required "settings.nats_url is required with scaleOut.enabled: the NATS (JetStream) the replicas and workers share events and jobs through" .Values.settings.nats_url }}
{{- if ne (.Values.settings.blob_store | default "filesystem") "s3" }}
{{- fail "settings.blob_store must be s3 with scaleOut.enabled: every replica, worker and the SuperLink reach the same artifacts, models and run outputs" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The S3 key's secret (blob_store s3 with s3_access_key_id), when the Secret has one. */}}
{{- define "yunfab-hub.storageEnv" -}}
{{- if eq (.Values.settings.blob_store | default "filesystem") "s3" }}
- name: YUNFAB_HUB_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "yunfab-hub.secretName" . }}
      key: s3-secret-access-key
      optional: true
{{- end }}
{{- end }}

{{/*
The SuperLink's ServerApp puts each run's outputs into the hub's bucket (blob_store s3) with
the SDK's own credentials: the hub's S3 key, or (none given) the pod's role.
*/}}
{{- define "yunfab-hub.superlinkS3Env" -}}
{{- if and (eq (.Values.settings.blob_store | default "filesystem") "s3") .Values.settings.s3_access_key_id }}
- name: AWS_ACCESS_KEY_ID
  value: {{ .Values.settings.s3_access_key_id | quote }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "yunfab-hub.secretName" . }}
      key: s3-secret-access-key
{{- end }}
{{- end }}

{{/* The pod-level fields every hub workload shares. */}}
{{- define "yunfab-hub.podSpecCommon" -}}
serviceAccountName: {{ include "yunfab-hub.serviceAccountName" . }}
automountServiceAccountToken: false
# Service links would put variables such as YUNFAB_HUB_PORT=tcp://... into the environment.
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{- define "yunfab-hub.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
