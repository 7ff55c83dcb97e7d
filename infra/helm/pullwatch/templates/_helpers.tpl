{{/* The release's name prefix for every object, at most 63 characters. */}}
{{- define "pullwatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pullwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "collector"). */}}
{{- define "pullwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels on every object: (dict "root" $ "component" "collector"). */}}
{{- define "pullwatch.labels" -}}
{{ include "pullwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pullwatch
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "pullwatch.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "pullwatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Pod security: non-root uid 10001 (the image's user), RuntimeDefault seccomp. */}}
{{- define "pullwatch.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "pullwatch.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The collector needs no ClickHouse, but PULLWATCH_ENGINES=external asks for a URL anyway. */}}
{{- define "pullwatch.clickhouseUrl" -}}
{{- default "http://clickhouse.invalid:8123" .Values.clickhouse.url -}}
{{- end -}}

{{/* Non-secret settings shared by every service: the ConfigMap's data (and the migration Job's env). */}}
{{- define "pullwatch.sharedEnv" -}}
PULLWATCH_ENGINES: external
PULLWATCH_LOG_LEVEL: {{ .Values.logLevel | quote }}
PULLWATCH_KAFKA_BROKERS: {{ join "," .Values.kafka.brokers | quote }}
PULLWATCH_TOPIC: {{ .Values.kafka.topic | quote }}
PULLWATCH_DLQ_TOPIC: {{ .Values.kafka.deadLetterTopic | quote }}
PULLWATCH_TOPIC_PARTITIONS: {{ .Values.kafka.partitions | quote }}
PULLWATCH_CLICKHOUSE_URL: {{ include "pullwatch.clickhouseUrl" . | quote }}
PULLWATCH_CLICKHOUSE_DATABASE: {{ .Values.clickhouse.database | quote }}
PULLWATCH_TTL_DAYS: {{ .Values.clickhouse.ttlDays | quote }}
{{- with .Values.clickhouse.cluster }}
PULLWATCH_CLICKHOUSE_CLUSTER: {{ . | quote }}
{{- end }}
{{- if .Values.kafka.tls.enabled }}
PULLWATCH_KAFKA_SSL: "true"
{{- if .Values.kafka.tls.caSecret }}
PULLWATCH_KAFKA_SSL_CA_FILE: /etc/pullwatch/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- end }}
{{- with .Values.kafka.sasl.mechanism }}
PULLWATCH_KAFKA_SASL_MECHANISM: {{ . | quote }}
{{- end }}
{{- if .Values.clickhouse.caSecret }}
PULLWATCH_CLICKHOUSE_CA_FILE: /etc/pullwatch/clickhouse-ca/{{ .Values.clickhouse.caKey }}
{{- end }}
{{- end -}}

{{/* Credentials, each from its Secret: (dict "root" $ "kafka" true "clickhouse" true "readOnly" false). */}}
{{- define "pullwatch.secretEnv" -}}
{{- $v := .root.Values -}}
{{- if and .kafka $v.kafka.tls.enabled $v.kafka.tls.clientSecret }}
- { name: PULLWATCH_KAFKA_SSL_CERT_FILE, value: /etc/pullwatch/kafka-client/tls.crt }
- { name: PULLWATCH_KAFKA_SSL_KEY_FILE, value: /etc/pullwatch/kafka-client/tls.key }
{{- end }}
{{- if and .kafka $v.kafka.sasl.mechanism }}
- name: PULLWATCH_KAFKA_SASL_USERNAME
  valueFrom: { secretKeyRef: { name: {{ $v.kafka.sasl.existingSecret | quote }}, key: {{ $v.kafka.sasl.usernameKey | quote }} } }
- name: PULLWATCH_KAFKA_SASL_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $v.kafka.sasl.existingSecret | quote }}, key: {{ $v.kafka.sasl.passwordKey | quote }} } }
{{- end }}
{{- if and .clickhouse $v.clickhouse.existingSecret }}
- name: PULLWATCH_CLICKHOUSE_USER
  valueFrom: { secretKeyRef: { name: {{ $v.clickhouse.existingSecret | quote }}, key: {{ $v.clickhouse.usernameKey | quote }} } }
- name: PULLWATCH_CLICKHOUSE_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $v.clickhouse.existingSecret | quote }}, key: {{ $v.clickhouse.passwordKey | quote }} } }
{{- end }}
{{- if and .readOnly $v.clickhouse.readOnly.enabled }}
- name: PULLWATCH_CLICKHOUSE_RO_USER
  valueFrom: { secretKeyRef: { name: {{ $v.clickhouse.existingSecret | quote }}, key: {{ $v.clickhouse.readOnly.usernameKey | quote }} } }
- name: PULLWATCH_CLICKHOUSE_RO_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $v.clickhouse.existingSecret | quote }}, key: {{ $v.clickhouse.readOnly.passwordKey | quote }} } }
{{- end }}
{{- end -}}

{{/* CA bundles mounted from Secrets: volumes, then mounts. Every container gets both, as the shared
     settings (ConfigMap) name their paths for every service. The Kafka client certificate
     ("kafkaClient") only goes to the services that connect to Kafka (collector, analyzer).
     Every Secret volume (these and the token files) has defaultMode 288 (0440, written in decimal so every
     YAML reader agrees): root and the pod's fsGroup (10001, podSecurityContext) read it, nobody else. */}}
{{- define "pullwatch.caVolumes" -}}
{{- $v := .root.Values -}}
{{- if and .kafka $v.kafka.tls.enabled $v.kafka.tls.caSecret }}
- name: kafka-ca
  secret: { secretName: {{ $v.kafka.tls.caSecret | quote }}, items: [{ key: {{ $v.kafka.tls.caKey | quote }}, path: {{ $v.kafka.tls.caKey | quote }} }], defaultMode: 288 }
{{- end }}
{{- if and .kafkaClient $v.kafka.tls.enabled $v.kafka.tls.clientSecret }}
- name: kafka-client
  secret: { secretName: {{ $v.kafka.tls.clientSecret | quote }}, items: [{ key: tls.crt, path: tls.crt }, { key: tls.key, path: tls.key }], defaultMode: 288 }
{{- end }}
{{- if and .clickhouse $v.clickhouse.caSecret }}
- name: clickhouse-ca
  secret: { secretName: {{ $v.clickhouse.caSecret | quote }}, items: [{ key: {{ $v.clickhouse.caKey | quote }}, path: {{ $v.clickhouse.caKey | quote }} }], defaultMode: 288 }
{{- end }}
{{- end -}}

{{- define "pullwatch.caMounts" -}}
{{- $v := .root.Values -}}
{{- if and .kafka $v.kafka.tls.enabled $v.kafka.tls.caSecret }}
- { name: kafka-ca, mountPath: /etc/pullwatch/kafka-ca, readOnly: true }
{{- end }}
{{- if and .kafkaClient $v.kafka.tls.enabled $v.kafka.tls.clientSecret }}
- { name: kafka-client, mountPath: /etc/pullwatch/kafka-client, readOnly: true }
{{- end }}
{{- if and .clickhouse $v.clickhouse.caSecret }}
- { name: clickhouse-ca, mountPath: /etc/pullwatch/clickhouse-ca, readOnly: true }
{{- end }}
{{- end -}}

{{/* The pod template's annotations: a checksum of the shared settings, so a change rolls the pods. */}}
{{- define "pullwatch.podAnnotations" -}}
checksum/config: {{ include "pullwatch.sharedEnv" .root | sha256sum }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Scheduling values of a component (nodeSelector, tolerations, affinity). */}}
{{- define "pullwatch.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
