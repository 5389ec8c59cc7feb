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
