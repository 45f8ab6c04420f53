"""The workshop's manifests, moved from extensions/v1beta1 to apps/v1 (explicit selectors)."""

from __future__ import annotations

HELLO_WORLD = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello-world
spec:
  replicas: 5
  selector:
    matchLabels:
      run: load-balancer-example
  template:
    metadata:
      labels:
        run: load-balancer-example
    spec:
      containers:
      - name: hello-world
        image: gcr.io/google-samples/node-hello:1.0
        ports:
        - containerPort: 8080
          protocol: TCP
"""


def kdemo(version: str) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kdemo-dep
spec:
  replicas: 3
  minReadySeconds: 30
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 1
  selector:
    matchLabels:
      name: kdemo
  template:
    metadata:
      labels:
        name: kdemo
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kdemo
        image: apprenda/kdemo:{version}
        ports:
        - containerPort: 8080
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
"""


PROBES_SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: probes-demo
spec:
  type: LoadBalancer
  ports:
  - port: 80
    targetPort: 80
  selector:
    app: probes-demo
"""


def probes(version: str, path: str) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: probes-demo
spec:
  replicas: 3
  minReadySeconds: 30
  strategy:
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 1
  selector:
    matchLabels:
      app: probes-demo
  template:
    metadata:
      labels:
        app: probes-demo
        version: "{version}"
        tier: frontend
    spec:
      containers:
      - name: probes-demo
        image: quay.io/apprenda/k8s-workshop-probes:{version}
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
        livenessProbe:
          httpGet:
            path: {path}
            port: 80
          initialDelaySeconds: 30
          timeoutSeconds: 10
        readinessProbe:
          httpGet:
            path: {path}
            port: 80
          initialDelaySeconds: 30
          timeoutSeconds: 10
"""


SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
data:
  user: c3RldmVu
  password: cmFuZG9tcGFzc3dvcmQ=
---
apiVersion: v1
kind: Pod
metadata:
  name: secret-test-pod
spec:
  restartPolicy: Never
  volumes:
  - name: secret-volume
    secret:
      secretName: app-secret
  containers:
  - name: test-container
    image: quay.io/apprenda/alpine:latest
    command: ["/bin/sh", "-c"]
    args:
    - while true; do echo "hello $(cat /etc/secret-volume/user) your password is $(cat /etc/secret-volume/password)"; sleep 10; done
    volumeMounts:
    - name: secret-volume
      mountPath: /etc/secret-volume
      readOnly: true
"""

RESOURCE_DEMO = """
apiVersion: v1
kind: Service
metadata:
  name: resource-quota-demo
spec:
  ports:
  - port: 80
    targetPort: 80
  selector:
    app: resource-quota-demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: resource-quota-demo
spec:
  replicas: 3
  selector:
    matchLabels:
      app: resource-quota-demo
  template:
    metadata:
      labels:
        app: resource-quota-demo
    spec:
      containers:
      - name: site
        image: quay.io/apprenda/k8s-workshop-site:1.0
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
        livenessProbe:
          httpGet:
            path: /
            port: 80
        readinessProbe:
          httpGet:
            path: /
            port: 80
"""

DOTNET = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dotnetcorek8s-v1
spec:
  replicas: 3
  minReadySeconds: 30
  strategy:
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 1
  selector:
    matchLabels:
      app: dotnetcorek8s
  template:
    metadata:
      labels:
        app: dotnetcorek8s
        version: "1.0"
        tier: frontend
    spec:
      containers:
      - name: dotnetcorek8s
        image: mattamm/dotnetcorek8s:v1
        ports:
        - containerPort: 8080
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
---
apiVersion: v1
kind: Service
metadata:
  name: dotnetcorek8s-lb
spec:
  type: LoadBalancer
  ports:
  - port: 80
    targetPort: 8080
  selector:
    app: dotnetcorek8s
"""
