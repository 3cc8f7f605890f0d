{{/*
One operator Deployment (the scheduler or the controller): the same shape as
manifests/platform/20-<component>.yaml, with the component's values. Called with
(dict "root" $ "component" "scheduler" "values" .Values.scheduler).
*/}}
{{- define "kruntimes.deployment" -}}
{{- $v := .root.Values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kruntimes-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels: { app.kubernetes.io/name: kruntimes, app.kubernetes.io/component: {{ .component }} }
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels: { app.kubernetes.io/name: kruntimes, app.kubernetes.io/component: {{ .component }} }
  template:
    metadata:
      labels: { app.kubernetes.io/name: kruntimes, app.kubernetes.io/component: {{ .component }} }
      {{- with $v.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: kruntimes-{{ .component }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ .values.image | quote }}
          imagePullPolicy: {{ $v.imagePullPolicy }}
          args: [{{ .component }}]
          env:
            - name: POD_NAMESPACE
              valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
            - name: KRUNTIMES_RUNTIMED_IMAGE
              value: {{ $v.runtimed.image | quote }}
            - name: KRT_LOG_LEVEL
              value: {{ $v.logLevel | quote }}
            - name: KRT_LEASE_DURATION_SECONDS
              value: {{ $v.leaderElection.leaseDurationSeconds | quote }}
            - name: KRT_LEASE_RENEW_SECONDS
              value: {{ $v.leaderElection.renewSeconds | quote }}
            {{- if eq .component "controller" }}
            # The maintainer pods' settings, rendered by the controller (lib/pod-security.ts).
            - name: KRT_MAINTAINER_POD
              value: {{ $v.maintainer | toJson | quote }}
            {{- end }}
          ports:
            - { name: health, containerPort: 8081 }
          readinessProbe:
            httpGet: { path: /readyz, port: 8081 }
            periodSeconds: 2
          livenessProbe:
            httpGet: { path: /healthz, port: 8081 }
            periodSeconds: 10
          {{- with .values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
{{- end -}}

{{- define "kruntimes.metricsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: kruntimes-{{ .component }}-metrics
  namespace: {{ .root.Release.Namespace }}
  labels: { app.kubernetes.io/name: kruntimes, app.kubernetes.io/component: {{ .component }} }
spec:
  selector: { app.kubernetes.io/name: kruntimes, app.kubernetes.io/component: {{ .component }} }
  ports:
    - { name: metrics, port: 8081, targetPort: health, protocol: TCP }
{{- end -}}
