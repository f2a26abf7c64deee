{{/*
Names and labels shared by every template. Object names are derived from the
release name so that `helm template modeleval` matches manifests/default.
*/}}

{{- define "modeleval.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the operator objects: "<release>-operator". */}}
{{- define "modeleval.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Name of the runner ClusterRole template: "<release>-runner". */}}
{{- define "modeleval.runnerRoleName" -}}
{{- printf "%s-runner" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modeleval.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "modeleval.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels that select the operator pod; never change them after install. */}}
{{- define "modeleval.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modeleval.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Common labels without the component. helm.sh/chart and managed-by are the only
Helm-specific ones; manifests/ carries all the others.
*/}}
{{- define "modeleval.baseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/name: {{ include "modeleval.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: modeleval
{{- end }}

{{/* Labels of the operator's objects. */}}
{{- define "modeleval.labels" -}}
{{ include "modeleval.baseLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of the runner's objects. */}}
{{- define "modeleval.runnerLabels" -}}
{{ include "modeleval.baseLabels" . }}
app.kubernetes.io/component: runner
{{- end }}

{{/* The operator image reference: repository[:tag][@digest]. */}}
{{- define "modeleval.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The runner image: runner.image.* falling back to image.*. */}}
{{- define "modeleval.runnerImage" -}}
{{- $repo := default .Values.image.repository .Values.runner.image.repository }}
{{- if and (not .Values.runner.image.repository) (not .Values.runner.image.tag) .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.runner.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{/* "true" when only labelled Secrets, ServiceAccounts and PVCs may be used. */}}
{{- define "modeleval.requireUsableLabel" -}}
{{- $value := toString .Values.security.requireUsableLabel }}
{{- if eq $value "auto" }}
{{- ternary "false" "true" .Values.webhook.enabled }}
{{- else }}
{{- $value }}
{{- end }}
{{- end }}

{{/* Name of the webhook's Service, certificate and configuration: "<fullname>-webhook". */}}
{{- define "modeleval.webhookName" -}}
{{- printf "%s-webhook" (include "modeleval.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the console objects: "<release>-console". */}}
{{- define "modeleval.consoleName" -}}
{{- printf "%s-console" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the console's objects. */}}
{{- define "modeleval.consoleLabels" -}}
{{ include "modeleval.baseLabels" . }}
app.kubernetes.io/component: console
{{- end }}

{{/* Labels that select the console pod. */}}
{{- define "modeleval.consoleSelectorLabels" -}}
app.kubernetes.io/name: {{ include "modeleval.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: console
{{- end }}

{{/* The console image: console.image.* falling back to image.*. */}}
{{- define "modeleval.consoleImage" -}}
{{- $repo := default .Values.image.repository .Values.console.image.repository }}
{{- if and (not .Values.console.image.repository) (not .Values.console.image.tag) .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.console.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{/* Where runners send results: the console Service inside the cluster. */}}
{{- define "modeleval.consoleUrl" -}}
{{- printf "http://%s.%s.svc:%d" (include "modeleval.consoleName" .) .Release.Namespace (int .Values.console.port) }}
{{- end }}

{{/* The PostgreSQL password Secret of the console. */}}
{{- define "modeleval.consoleDatabaseSecret" -}}
{{- default (printf "%s-database" (include "modeleval.consoleName" .)) .Values.console.database.postgresql.existingSecret }}
{{- end }}

{{/* Namespace of the Qianfan access-key Secrets. */}}
{{- define "modeleval.accessKeyNamespace" -}}
{{- .Values.console.vendors.accessKeys.secretNamespace | default .Release.Namespace -}}
{{- end }}
