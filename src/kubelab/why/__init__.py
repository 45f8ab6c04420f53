"""``kubelab.why``: "why is my pod not running?" answered in plain words.

:func:`diagnose` (pure: API objects in, :class:`Diagnosis` out) lives in
:mod:`kubelab.why.diagnose`; :func:`why` gathers the objects through the Kubernetes API
(:mod:`kubelab.why.fetch`) and diagnoses them. Surfaces: ``%why pod/x`` in a notebook,
``kubelab why pod/x`` in a terminal, ``cluster.why("pod/x")``, and the self-checks' feedback.
"""

from kubelab.why.diagnose import Diagnosis, Objects, diagnose, parse_target
from kubelab.why.fetch import gather, why

__all__ = ["Diagnosis", "Objects", "diagnose", "gather", "parse_target", "why"]
