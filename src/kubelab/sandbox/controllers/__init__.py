"""kube-controller-manager (and the cloud controller's service loop), as pure reconcilers.

Each module mirrors one upstream controller in ``k8s.io/kubernetes/pkg/controller`` and
holds a class satisfying :class:`kubelab.sandbox.reconcile.types.Reconciler`: it names the
kinds it watches, maps a changed object to the keys to reconcile, and computes the writes
that move one key toward its desired state. None of them writes anything itself; the
runner applies their actions through the API registry, the way real controllers write
through kube-apiserver.
"""

from __future__ import annotations

from kubelab.sandbox.controllers.apiservice import APIServiceController
from kubelab.sandbox.controllers.clusterrole_aggregation import (
    ClusterRoleAggregationController,
)
from kubelab.sandbox.controllers.cronjob import CronJobController
from kubelab.sandbox.controllers.daemonset import DaemonSetController
from kubelab.sandbox.controllers.deployment import DeploymentController
from kubelab.sandbox.controllers.disruption import DisruptionController
from kubelab.sandbox.controllers.endpoints import EndpointsController
from kubelab.sandbox.controllers.garbage_collector import GarbageCollector
from kubelab.sandbox.controllers.ingress_nginx import IngressNginxStatusController
from kubelab.sandbox.controllers.job import JobController
from kubelab.sandbox.controllers.namespace import NamespaceController
from kubelab.sandbox.controllers.node_lifecycle import NodeLifecycleController
from kubelab.sandbox.controllers.persistentvolume import (
    LocalPathProvisioner,
    PersistentVolumeBinder,
    VolumeProtectionController,
)
from kubelab.sandbox.controllers.podautoscaler import HorizontalController
from kubelab.sandbox.controllers.replicaset import ReplicaSetController
from kubelab.sandbox.controllers.replicationcontroller import ReplicationControllerController
from kubelab.sandbox.controllers.resourcequota import ResourceQuotaController
from kubelab.sandbox.controllers.root_ca_publisher import RootCAPublisher
from kubelab.sandbox.controllers.service_lb import ServiceLBController
from kubelab.sandbox.controllers.serviceaccounts import ServiceAccountsController
from kubelab.sandbox.controllers.statefulset import StatefulSetController
from kubelab.sandbox.controllers.ttl_after_finished import TTLAfterFinishedController
from kubelab.sandbox.reconcile.types import Reconciler


def all_controllers(ca_pem: str | None = None) -> list[Reconciler]:
    """One instance of every controller, with upstream default settings; the root CA
    publisher too when the cluster's CA bundle (``ca_pem``) is given."""
    found: list[Reconciler] = [
        DeploymentController(),
        ReplicaSetController(),
        GarbageCollector(),
        EndpointsController(),
        NamespaceController(),
        # A cloud load balancer takes the best part of a minute to provision on GKE.
        ServiceLBController(provision_seconds=40.0),
        NodeLifecycleController(),
        DaemonSetController(),
        ResourceQuotaController(),
        JobController(),
        IngressNginxStatusController(),
        CronJobController(),
        TTLAfterFinishedController(),
        ClusterRoleAggregationController(),
        HorizontalController(),
        StatefulSetController(),
        PersistentVolumeBinder(),
        LocalPathProvisioner(),
        VolumeProtectionController(),
        APIServiceController(),
        DisruptionController(),
        ReplicationControllerController(),
        ServiceAccountsController(),
    ]
    if ca_pem:
        found.append(RootCAPublisher(ca_pem))
    return found


__all__ = ["all_controllers"]
