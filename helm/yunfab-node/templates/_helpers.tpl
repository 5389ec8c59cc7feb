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

{{/*
The scaled-out profile (scaleOut.enabled): API replicas behind a PodDisruptionBudget and an
autoscaler, `yunfab node worker` and `yunfab node ingest` processes of their own, events and jobs
on NATS, files in S3, and no PersistentVolumeClaim.
*/}}
{{- define "yunfab-node.scaledOut" -}}
{{- if .Values.scaleOut.enabled }}true{{ end }}
{{- end }}

{{- define "yunfab-node.workerName" -}}
{{- printf "%s-worker" (include "yunfab-node.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yunfab-node.ingestName" -}}
{{- printf "%s-ingest" (include "yunfab-node.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yunfab-node.supernodeName" -}}
{{- printf "%s-supernode" (include "yunfab-node.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
What the scaled-out profile cannot run without, beyond values.schema.json (which refuses a local
blob store, a missing nats_url and the chart's single Mosquitto): one line naming the value.
*/}}
{{- define "yunfab-node.validateScaleOut" -}}
{{- if .Values.scaleOut.enabled }}
{{- $_ := required "settings.nats_url is required with scaleOut.enabled: the NATS (JetStream) the replicas share events and jobs through" .Values.settings.nats_url }}
{{- if ne (.Values.settings.blob_store | default "filesystem") "s3" }}
{{- fail "settings.blob_store must be s3 with scaleOut.enabled: every replica and worker reads the same models and images" }}
{{- end }}
{{- if .Values.mosquitto.enabled }}
{{- fail "mosquitto.enabled must be false with scaleOut.enabled: the chart's broker is one pod on a ReadWriteOnce volume; give an external broker cluster in mqtt.url" }}
{{- end }}
{{- $_ := required "alertSecretsKey.secretName is required with scaleOut.enabled: the key sealing contact points' secrets must be the same in every replica" .Values.alertSecretsKey.secretName }}
{{- if .Values.mqtt.enabled }}
{{- $_ := required "settings.mqtt_shared_group is required with scaleOut.enabled and mqtt.enabled: the ingest processes split the device stream through it" .Values.settings.mqtt_shared_group }}
{{- end }}
{{- if .Values.flower.enabled }}
{{- $_ := required "flower.imageStore.existingClaim is required with scaleOut.enabled and flower.enabled: the claim holding the image store the SuperNode trains on" .Values.flower.imageStore.existingClaim }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Settings of every node process that serves or works for the node (API, worker, ingest): its
identity at the hub, its database, the policy engine, the S3 key and the free `settings`.
*/}}
{{- define "yunfab-node.nodeEnv" -}}
{{- $secret := include "yunfab-node.secretName" . -}}
- name: YUNFAB_NODE_AUTO_MIGRATE
  value: "false"
- name: YUNFAB_NODE_NAME
  value: {{ .Values.node.name | quote }}
- name: YUNFAB_NODE_REGION
  value: {{ .Values.node.region | quote }}
- name: YUNFAB_NODE_INDUSTRY
  value: {{ .Values.node.industry | quote }}
- name: YUNFAB_NODE_PUBLIC_URL
  value: {{ .Values.node.publicUrl | quote }}
- name: YUNFAB_NODE_HUB_URL
  value: {{ .Values.node.hubUrl | quote }}
- name: YUNFAB_NODE_CLIENT_ID
  value: {{ .Values.node.clientId | quote }}
- name: YUNFAB_NODE_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: client-secret
- name: YUNFAB_NODE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: database-url
- name: YUNFAB_NODE_POLICY_ENGINE
  value: {{ .Values.policy.engine | quote }}
{{- if eq .Values.policy.engine "opa" }}
- name: YUNFAB_NODE_OPA_URL
  value: {{ printf "http://127.0.0.1:%v" .Values.policy.opa.port | quote }}
{{- end }}
{{- end }}

{{/* The broker: consumer login and the dynamic-security admin (API embedded, ingest scaled out). */}}
{{- define "yunfab-node.mqttEnv" -}}
{{- $secret := include "yunfab-node.secretName" . -}}
- name: YUNFAB_NODE_MQTT_URL
  value: {{ include "yunfab-node.mqttUrl" . | quote }}
- name: YUNFAB_NODE_MQTT_USERNAME
  value: {{ include "yunfab-node.mqttUsername" . | quote }}
- name: YUNFAB_NODE_MQTT_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: mqtt-password
- name: YUNFAB_NODE_BROKER_ADMIN_USERNAME
  value: {{ .Values.mqtt.brokerAdminUsername | quote }}
- name: YUNFAB_NODE_BROKER_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: broker-admin-password
{{- end }}

{{/* After the identity: the S3 key, the alert sealing key and the free `settings`. */}}
{{- define "yunfab-node.storageEnv" -}}
# The S3 key's secret (blob_store s3 with s3_access_key_id), when the Secret has one.
- name: YUNFAB_NODE_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "yunfab-node.secretName" . }}
      key: s3-secret-access-key
      optional: true
{{- if .Values.alertSecretsKey.secretName }}
- name: YUNFAB_NODE_ALERT_SECRETS_KEY_FILE
  value: /etc/yunfab/alert-secrets/{{ .Values.alertSecretsKey.key }}
{{- end }}
{{- end }}

{{/* Mounts every node process has besides its data folder: /tmp, the CA bundle, the alert key. */}}
{{- define "yunfab-node.commonMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.caBundle.configMap }}
- name: ca-bundle
  mountPath: /etc/yunfab/ca
  readOnly: true
{{- end }}
{{- if .Values.alertSecretsKey.secretName }}
- name: alert-secrets
  mountPath: /etc/yunfab/alert-secrets
  readOnly: true
{{- end }}
{{- end }}

{{- define "yunfab-node.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if eq .Values.policy.engine "opa" }}
- name: policies
  configMap:
    name: {{ include "yunfab-node.fullname" . }}-policies
{{- end }}
{{- if .Values.caBundle.configMap }}
- name: ca-bundle
  configMap:
    name: {{ .Values.caBundle.configMap }}
{{- end }}
{{- if .Values.alertSecretsKey.secretName }}
- name: alert-secrets
  secret:
    secretName: {{ .Values.alertSecretsKey.secretName }}
    defaultMode: 0440
    items:
      - key: {{ .Values.alertSecretsKey.key }}
        path: {{ .Values.alertSecretsKey.key }}
{{- end }}
{{- end }}

{{/* The OPA sidecar: policies/*.rego from the ConfigMap, decisions on 127.0.0.1 only. */}}
{{- define "yunfab-node.opaContainer" -}}
- name: opa
  image: {{ printf "%s:%s" .Values.policy.opa.image.repository .Values.policy.opa.image.tag | quote }}
  imagePullPolicy: {{ .Values.policy.opa.image.pullPolicy }}
  args:
    - run
    - --server
    - --addr=127.0.0.1:{{ .Values.policy.opa.port }}
    - --diagnostic-addr=0.0.0.0:{{ .Values.policy.opa.diagnosticPort }}
    - --disable-telemetry
    - --log-format=json
    - /policies
  ports:
    - name: opa-diag
      containerPort: {{ .Values.policy.opa.diagnosticPort }}
      protocol: TCP
  livenessProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 10
  readinessProbe:
    httpGet:
      path: /health
      port: opa-diag
    periodSeconds: 5
  resources:
    {{- toYaml .Values.policy.opa.resources | nindent 4 }}
  securityContext:
    {{- include "yunfab-node.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: policies
      mountPath: /policies
      readOnly: true
{{- end }}

{{/* Scheduling of every pod the chart runs. */}}
{{- define "yunfab-node.scheduling" -}}
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

{{/*
The Flower SuperNode: in the node's pod (one replica), or a pod of its own beside the API
replicas (scaleOut): a node is one Flower node, whatever its API replicas.
*/}}
{{- define "yunfab-node.supernodeContainer" -}}
{{- $store := include "yunfab-node.imageStore" . -}}
- name: supernode
  image: {{ include "yunfab-node.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  # The same arguments as federated_learning.deploy.supernode_argv, with TLS and the
  # SuperNode's key; the ClientApp runs from this image's environment.
  command:
    - /bin/sh
    - -c
    - mkdir -p "$FLWR_HOME" "$IMAGE_STORE" && exec flower-supernode "$@"
    - flower-supernode
  args:
    - --superlink
    - {{ .Values.flower.superlink | quote }}
    - --host
    - 127.0.0.1
    - --port
    - {{ .Values.flower.port | quote }}
    - --node-config
    - {{ printf "node-name='%s' data-path='%s'" .Values.node.name $store | quote }}
    - --root-certificates
    - /etc/yunfab/flower-ca/{{ .Values.flower.rootCertificates.key }}
    - --auth-supernode-private-key
    - /etc/yunfab/flower-key/supernode.key
    - --health-server-address
    - 0.0.0.0:{{ .Values.flower.healthPort }}
  env:
    {{- include "yunfab-node.processEnv" . | nindent 4 }}
    - name: FLWR_HOME
      value: {{ include "yunfab-node.dataDir" . }}/flwr-supernode
    - name: IMAGE_STORE
      value: {{ $store | quote }}
  ports:
    - name: flower-health
      containerPort: {{ .Values.flower.healthPort }}
      protocol: TCP
  startupProbe:
    grpc:
      port: {{ .Values.flower.healthPort }}
    periodSeconds: 5
    failureThreshold: 60
  livenessProbe:
    grpc:
      port: {{ .Values.flower.healthPort }}
    periodSeconds: 10
  readinessProbe:
    grpc:
      port: {{ .Values.flower.healthPort }}
    periodSeconds: 5
  resources:
    {{- toYaml .Values.flower.resources | nindent 4 }}
  securityContext:
    {{- include "yunfab-node.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: {{ include "yunfab-node.dataDir" . }}
    {{- if .Values.scaleOut.enabled }}
    - name: image-store
      mountPath: {{ $store }}
    {{- end }}
    - name: tmp
      mountPath: /tmp
    - name: flower-ca
      mountPath: /etc/yunfab/flower-ca
      readOnly: true
    - name: flower-key
      mountPath: /etc/yunfab/flower-key
      readOnly: true
{{- end }}

{{/* The SuperNode's CA and key pair. */}}
{{- define "yunfab-node.flowerVolumes" -}}
- name: flower-ca
  secret:
    secretName: {{ .Values.flower.rootCertificates.secretName }}
    defaultMode: 0440
    items:
      - key: {{ .Values.flower.rootCertificates.key }}
        path: {{ .Values.flower.rootCertificates.key }}
- name: flower-key
  secret:
    secretName: {{ .Values.flower.authKey.secretName }}
    defaultMode: 0440
    items:
      - key: supernode.key
        path: supernode.key
      - key: supernode.key.pub
        path: supernode.key.pub
{{- end }}

{{/* Pod-level settings shared by the chart's node pods. */}}
{{- define "yunfab-node.podSpecCommon" -}}
serviceAccountName: {{ include "yunfab-node.serviceAccountName" . }}
automountServiceAccountToken: false
# Service links would put variables such as YUNFAB_NODE_PORT=tcp://... into the environment
# of a release named yunfab-node, where the node would read them as its settings.
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
