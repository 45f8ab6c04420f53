"""The lowest layer: what every Kubernetes program shares, with no I/O and no state.

Mirrors the role of ``k8s.io/apimachinery`` (and the few pure helpers of
``k8s.io/component-helpers`` and kubectl's printers that several components need): label and
field selectors, resource quantities, durations and their human wording, RFC 3339 times, the
pod STATUS column, pod resource requests, and the object types and helpers. The sandbox (the
API server and its components), the diagram and the graders all import it, so the sandbox's
``kubectl get`` and the diagram print the same ``3d5h`` and count the same requests.

Everything here is a pure function of its arguments (the current time is always passed in);
nothing here imports the rest of kubelab. An import-linter contract keeps it that way.
"""
