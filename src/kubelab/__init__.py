"""kubelab: a Jupyter course that teaches Kubernetes hands-on.

The embedded cluster lives in :mod:`kubelab.sandbox` (a separate process that speaks the
Kubernetes API); notebooks reach any cluster, sandbox or real, through :mod:`kubelab.connect`.
"""

__version__ = "0.1.0"
