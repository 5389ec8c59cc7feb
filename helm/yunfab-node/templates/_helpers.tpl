{{/*
Names. The fullname is the release name, unless the release name already says the chart's name.
*/}}
{{- define "yunfab-node.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yunfab-node.fullname" -}}
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

{{- define "yunfab-node.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (app.kubernetes.io/*) on every object. */}}
{{- define "yunfab-node.labels" -}}
helm.sh/chart: {{ include "yunfab-node.chart" . }}
{{ include "yunfab-node.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: yunfab
{{- end }}

{{- define "yunfab-node.selectorLabels" -}}
app.kubernetes.io/name: {{ include "yunfab-node.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "yunfab-node.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{- define "yunfab-node.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "yunfab-node.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding database-url, client-secret, mqtt-password and broker-admin-password. */}}
{{- define "yunfab-node.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "yunfab-node.fullname" .) }}
{{- end }}

{{/* The Secret the migrations job reads: created with the job when the chart owns the secrets. */}}
{{- define "yunfab-node.migrationsSecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-migrations" (include "yunfab-node.fullname" .)) }}
{{- end }}

{{- define "yunfab-node.dataDir" -}}/var/lib/yunfab{{- end }}
{{- define "yunfab-node.port" -}}8701{{- end }}

{{- define "yunfab-node.mosquittoName" -}}
{{- printf "%s-mosquitto" (include "yunfab-node.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The broker the node consumes from: the chart's Mosquitto, or mqtt.url. */}}
{{- define "yunfab-node.mqttUrl" -}}
{{- if .Values.mqtt.url }}
{{- .Values.mqtt.url }}
{{- else }}
{{- printf "mqtts://%s.%s.svc:%v" (include "yunfab-node.mosquittoName" .) .Release.Namespace .Values.mosquitto.port }}
{{- end }}
{{- end }}

{{- define "yunfab-node.mqttUsername" -}}
{{- .Values.mqtt.username | default (printf "%s-ingest" .Values.node.name) }}
{{- end }}

{{/* The node's image store, which its SuperNode trains on (one dataset folder per SKU). */}}
{{- define "yunfab-node.imageStore" -}}
{{- .Values.flower.dataPath | default (printf "%s/image-store" (include "yunfab-node.dataDir" .)) }}
{{- end }}

{{/*
Required values: rendering stops with one line naming the value, as the node itself does for a
bad setting. Nothing secret has a default.
*/}}
{{- define "yunfab-node.validate" -}}
{{- $_ := required "node.name is required: the node's unique name at the hub, e.g. zj-textile (YUNFAB_NODE_NAME)" .Values.node.name }}
{{- $_ := required "node.region is required: an ISO 3166-2 code such as CN-ZJ (YUNFAB_NODE_REGION)" .Values.node.region }}
{{- $_ := required "node.industry is required: a lower-case slug such as textile (YUNFAB_NODE_INDUSTRY)" .Values.node.industry }}
{{- $_ := required "node.clientId is required: the node's OAuth2 client at the hub (yunfab hub client create --kind node)" .Values.node.clientId }}
{{- $public := required "node.publicUrl is required: the https:// URL the hub and platforms reach this node at (YUNFAB_NODE_PUBLIC_URL)" .Values.node.publicUrl }}
{{- if not (hasPrefix "https://" $public) }}
{{- fail (printf "node.publicUrl must be an https:// URL (got %q)" $public) }}
{{- end }}
{{- $hub := required "node.hubUrl is required: the hub's https:// URL (YUNFAB_NODE_HUB_URL)" .Values.node.hubUrl }}
{{- if not (hasPrefix "https://" $hub) }}
{{- fail (printf "node.hubUrl must be an https:// URL (got %q): a node refuses to start in production without one" $hub) }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- $db := required "secrets.databaseUrl is required (postgresql://USER:PASSWORD@HOST:5432/DB), or name an existing Secret in secrets.existingSecret" .Values.secrets.databaseUrl }}
{{- if not (or (hasPrefix "postgresql://" $db) (hasPrefix "postgres://" $db)) }}
{{- fail "secrets.databaseUrl must be a postgresql:// URL: on Kubernetes a node runs on PostgreSQL" }}
{{- end }}
{{- $_ := required "secrets.clientSecret is required: the secret of node.clientId at the hub (or use secrets.existingSecret)" .Values.secrets.clientSecret }}
{{- if .Values.mqtt.enabled }}
{{- $_ := required "secrets.mqttPassword is required with mqtt.enabled: the node's own login at the broker (or use secrets.existingSecret)" .Values.secrets.mqttPassword }}
{{- $_ := required "secrets.brokerAdminPassword is required with mqtt.enabled: the broker's dynamic-security admin, through which the node manages device credentials (or use secrets.existingSecret)" .Values.secrets.brokerAdminPassword }}
{{- end }}
{{- end }}
{{- if .Values.mqtt.enabled }}
{{- if and (not .Values.mosquitto.enabled) (not .Values.mqtt.url) }}
{{- fail "mqtt.url is required when mosquitto.enabled is false: mqtts://HOST:PORT of the external broker" }}
{{- end }}
{{- if not (hasPrefix "mqtts://" (include "yunfab-node.mqttUrl" .)) }}
{{- fail "mqtt.url must be an mqtts:// URL: a node refuses plain MQTT in production" }}
{{- end }}
{{- if .Values.mosquitto.enabled }}
{{- $_ := required "mosquitto.tls.secretName is required with mosquitto.enabled: a Secret with tls.crt and tls.key for the broker's TLS listener" .Values.mosquitto.tls.secretName }}
{{- end }}
{{- else if .Values.mosquitto.enabled }}
{{- fail "mosquitto.enabled needs mqtt.enabled: the node is the broker's only administrator" }}
{{- end }}
{{- if .Values.flower.enabled }}
{{- $_ := required "flower.superlink is required with flower.enabled: host:port of the hub's Flower SuperLink" .Values.flower.superlink }}
{{- $_ := required "flower.rootCertificates.secretName is required with flower.enabled: a Secret holding the CA of the SuperLink's certificate" .Values.flower.rootCertificates.secretName }}
{{- $_ := required "flower.authKey.secretName is required with flower.enabled: a Secret with the SuperNode's key pair (supernode.key, supernode.key.pub)" .Values.flower.authKey.secretName }}
{{- end }}
{{- if and (eq .Values.policy.engine "opa") (not .Values.policy.opa.image.repository) }}
{{- fail "policy.opa.image.repository is required with policy.engine=opa" }}
{{- end }}
{{- end }}

{{/* Pod-wide environment that is not a Yunfab setting: writable caches on a read-only root. */}}
{{- define "yunfab-node.processEnv" -}}
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
YUNFAB_NODE_* settings that come from the free-form `settings` map. Lists go as JSON, as
pydantic-settings reads them; numbers too, so that a large one is not written in exponent
notation. A null leaves the setting at its default.
*/}}
{{- define "yunfab-node.settingsEnv" -}}
{{- range $key, $value := .Values.settings }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ printf "YUNFAB_NODE_%s" (upper $key) }}
  value: {{ if kindIs "string" $value }}{{ $value | quote }}{{ else }}{{ toJson $value | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Settings every node process (server and migrations job) needs. */}}
{{- define "yunfab-node.coreEnv" -}}
- name: YUNFAB_NODE_ENV
  value: production
- name: YUNFAB_NODE_DATA_DIR
  value: {{ include "yunfab-node.dataDir" . | quote }}
{{- end }}

{{- define "yunfab-node.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}
