"""The reconcile framework every sandbox component runs on.

client-go's pattern, made small: a component *watches* kinds in the store, maps each change
to the *keys* it cares about (an informer's event handler enqueuing; the runner runs it after
the commit, not inside it), and a worker calls the component's ``reconcile(snapshot, key,
clock)`` for one key at a time. The controllers' reconcile functions are pure (their result
depends only on the snapshot, the key and the clock); the kubelets' also move their node's
simulated runtime, and the scheduler's reads the cache its handlers keep. ``reconcile``
returns :class:`Result`: a list of :mod:`actions <kubelab.sandbox.reconcile.actions>` (create,
update, update status, delete, record an event) and an optional requeue delay in simulated
seconds. The runner applies the actions through the registry, exactly as a real controller
writes through the API server, and requeues on conflicts.

Controllers, the scheduler and the kubelets import this package and the store; they never
import each other.
"""
