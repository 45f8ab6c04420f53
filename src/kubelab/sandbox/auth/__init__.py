"""Authentication and authorisation: who sent a request, and whether they may.

Mirrors kube-apiserver's handler chain in front of the REST storage
(``k8s.io/apiserver/pkg/endpoints/filters``): the authentication filter turns a bearer token
into a user (:mod:`.authenticate`: the sandbox's admin token, ServiceAccount JWTs), the
impersonation filter may swap that user for another (:mod:`.impersonate`), the request-info
factory names what the request does (:mod:`.attributes`), and the authorisation filter asks
the authorizers (:mod:`.rbac`: the ``system:masters`` privileged group, then RBAC from
``plugin/pkg/auth/authorizer/rbac``). The default ClusterRoles and bindings that
kube-apiserver's ``rbac/bootstrap-roles`` post-start hook reconciles are in :mod:`.policy`.

Pure functions over objects the registry holds; the server (:mod:`kubelab.sandbox.server`)
is the thin I/O shell that calls them. Token values are never logged.
"""
