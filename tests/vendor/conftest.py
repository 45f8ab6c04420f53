"""Third-party test suites kept unchanged; each is run by its own entry, never collected here.

``kubernetes_e2e/`` is the official Python client's end-to-end suite: it imports itself as
``kubernetes.e2e_test`` and opens its YAML files relative to its own root, so
``tests/conformance/test_official_client_e2e.py`` runs it in a child pytest from that root.
"""

collect_ignore = ["kubernetes_e2e"]
