package main

// exampleFiles is the plaintext part of the demo repository: a web
// application with a kustomize base and dev and prod overlays, and an API
// packaged as a Helm chart.
func exampleFiles() map[string]string {
	return map[string]string{
		"README.md": "Demo application of `make run`. Edit, commit and push: Driftless follows.\n",
		"apps/web/base/kustomization.yaml": `resources: [deployment.yaml, service.yaml]
configMapGenerator:
- name: web-config
  literals: [greeting=hello]
`,
		"apps/web/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 30%, maxUnavailable: 20%}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: example.com/web:1.0
        envFrom: [{configMapRef: {name: web-config}}, {secretRef: {name: web-credentials}}]
        ports: [{containerPort: 8080}]
`,
		"apps/web/base/service.yaml": `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
		"apps/web/overlays/dev/kustomization.yaml": `resources: [../../base, secret.enc.yaml]
images: [{name: example.com/web, newTag: "1.1"}]
`,
		"apps/web/overlays/prod/kustomization.yaml": `resources: [../../base, secret.enc.yaml]
replicas: [{name: web, count: 4}]
`,
		"charts/api/Chart.yaml":  "apiVersion: v2\nname: api\nversion: 0.1.0\n",
		"charts/api/values.yaml": "replicas: 2\nimage: example.com/api:2.0\napiKey: \"\"\n",
		"charts/api/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: api
        image: {{ .Values.image }}
        envFrom: [{secretRef: {name: {{ .Release.Name }}-key}}]
`,
		"charts/api/templates/secret.yaml": `apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-key}
stringData: {API_KEY: {{ required "apiKey is required" .Values.apiKey | quote }}}
`,
	}
}

// exampleSecrets are encrypted with the demo age key before they are committed.
func exampleSecrets() map[string]string {
	secret := func(env string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: web-credentials}\nstringData: {PASSWORD: demo-" + env + "-password}\n"
	}
	return map[string]string{
		"apps/web/overlays/dev/secret.enc.yaml":  secret("dev"),
		"apps/web/overlays/prod/secret.enc.yaml": secret("prod"),
		"charts/api/values-prod.enc.yaml":        "apiKey: demo-api-key\n",
	}
}

// exampleAppSources deploys the demo: the CA of the Git server, the demo
// age key, then three AppSources; %s are the CA, the key and three URLs.
const exampleAppSources = `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Namespace
metadata: {name: demo-prod}
---
apiVersion: v1
kind: Secret
metadata: {name: git-ca, namespace: demo}
stringData:
  caFile: |
%s---
apiVersion: v1
kind: Secret
metadata: {name: sops-age, namespace: demo}
stringData:
  demo.agekey: |
%s---
apiVersion: deploy.driftless.dev/v1alpha1
kind: AppSource
metadata: {name: web-dev, namespace: demo}
spec:
  interval: 15s
  source:
    git: {url: %s, ref: {branch: main}, secretRef: {name: git-ca}}
    path: apps/web/overlays/dev
  decryption: {secretRef: {name: sops-age}}
  targetNamespace: demo
---
apiVersion: deploy.driftless.dev/v1alpha1
kind: AppSource
metadata: {name: web-prod, namespace: demo}
spec:
  interval: 15s
  source:
    git: {url: %s, ref: {branch: main}, secretRef: {name: git-ca}}
    path: apps/web/overlays/prod
  decryption: {secretRef: {name: sops-age}}
  targetNamespace: demo-prod
  promotion: {after: [{name: web-dev}]}
  strategy:
    type: BlueGreen
    blueGreen: {activeServices: [web], scaleDownDelaySeconds: 10}
---
apiVersion: deploy.driftless.dev/v1alpha1
kind: AppSource
metadata: {name: api, namespace: demo}
spec:
  interval: 15s
  source:
    git: {url: %s, ref: {branch: main}, secretRef: {name: git-ca}}
    path: charts/api
  render:
    helm: {valuesFiles: [values.yaml, values-prod.enc.yaml]}
  decryption: {secretRef: {name: sops-age}}
  targetNamespace: demo
`
