"""Command line: ``kubelab sandbox start|stop|status|reset|logs|serve``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from kubelab.sandbox import daemon


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubelab sandbox",
                                     description="The embedded Kubernetes sandbox.")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="where the datastore, token, kubeconfig and logs live "
                             "(default: $XDG_STATE_HOME/kubelab)")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the sandbox in the background")
    for p in (start, sub.add_parser("serve", help="run the sandbox in the foreground")):
        p.add_argument("--nodes", type=int, default=3, help="worker nodes (default 3)")
        p.add_argument("--speed", type=float, default=float(
            os.environ.get("KUBELAB_SPEED", "5")),
            help="simulated seconds per real second for delays, probes and timeouts "
                 "(default 5; timestamps stay wall-clock)")
        p.add_argument("--version", default=None,
                       help="Kubernetes version the server reports (default: the bundled "
                            "kubectl's)")
        p.add_argument("--no-node-ports", dest="node_ports", action="store_false",
                       help="do not serve NodePort/LoadBalancer Services on "
                            "127.0.0.1:<nodePort>")
        p.add_argument("--virtual-time", action="store_true",
                       default=os.environ.get("KUBELAB_VIRTUAL_TIME", "0") == "1",
                       help="when the cluster is idle, jump to the next timer at once "
                            "(discrete-event simulation; used by grading sandboxes)")
    start.add_argument("--merge-kubeconfig", type=Path, default=None, metavar="PATH",
                       help="also add the kubelab context to this kubeconfig")
    sub.choices["serve"].add_argument("--port", type=int, default=0)
    sub.choices["serve"].add_argument(
        "--in-memory", action="store_true",
        help="keep the datastore in memory, not in the state directory: nothing survives a "
             "restart (grading sandboxes, thrown away with their submission)")
    sub.choices["serve"].add_argument(
        "--event-ttl", type=float, default=None,
        help="simulated seconds an Event lives after its last update (kube-apiserver's "
             "--event-ttl; default 3600, or $KUBELAB_EVENT_TTL; with --virtual-time a "
             "simulated day, since skipped time would expire a lesson's Events before its "
             "checks read them)")
    sub.choices["serve"].add_argument(
        "--max-pods", type=int, default=None,
        help="pods the whole sandbox may hold; a create past it is refused as over a "
             "ResourceQuota (default 10000, or $KUBELAB_MAX_PODS; 0: no limit)")
    sub.add_parser("stop", help="stop the sandbox")
    sub.add_parser("status", help="is it running, where, and is it healthy")
    sub.add_parser("reset", help="stop and delete all state")
    logs = sub.add_parser("logs", help="print the sandbox's log")
    logs.add_argument("--tail", type=int, default=50)
    sub.add_parser("kubeconfig", help="print the kubeconfig path")
    addons = sub.add_parser("addons", help="enable cluster add-ons, as minikube addons does")
    addons.add_argument("action", choices=("enable", "list"))
    addons.add_argument("name", nargs="?", choices=("ingress",),
                        help="ingress: the ingress-nginx controller and the nginx IngressClass")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state_dir: Path = args.state_dir or daemon.default_state_dir()
    if args.command == "serve":
        return serve(state_dir, args)
    if args.command == "start":
        try:
            info = daemon.start(state_dir, nodes=args.nodes, speed=args.speed,
                                version=args.version, merge=args.merge_kubeconfig,
                                node_ports=args.node_ports, virtual_time=args.virtual_time,
                                in_memory=False)
        except RuntimeError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        kubeconfig = state_dir / "kubeconfig"
        print(f"kubelab sandbox running at {info.url} (pid {info.pid})")
        print(f"kubeconfig: {kubeconfig}")
        print(f"  export KUBECONFIG={kubeconfig}")
        return 0
    if args.command == "stop":
        print("stopped" if daemon.stop(state_dir) else "not running")
        return 0
    if args.command == "status":
        live = daemon.running(state_dir)
        if live is None:
            print("not running")
            return 3
        code, body = daemon.probe(live, "/readyz?verbose")
        print(f"running at {live.url} (pid {live.pid}); kubeconfig "
              f"{state_dir / 'kubeconfig'}")
        print(body.strip())
        return 0 if code == 200 else 1
    if args.command == "reset":
        daemon.reset(state_dir)
        print("reset: state deleted")
        return 0
    if args.command == "logs":
        path = state_dir / "sandbox.log"
        if not path.exists():
            print("no log yet")
            return 0
        lines = path.read_text(errors="replace").splitlines()
        print("\n".join(lines[-args.tail:]))
        return 0
    if args.command == "kubeconfig":
        print(state_dir / "kubeconfig")
        return 0
    if args.command == "addons":
        return _addons(state_dir, args)
    return 2


def _addons(state_dir: Path, args: argparse.Namespace) -> int:
    from kubelab.sandbox import addons

    if args.action == "list":
        print("\n".join(sorted(addons.ADDONS)))
        return 0
    if not args.name:
        print("error: name the add-on to enable (ingress)", file=sys.stderr)
        return 2
    live = daemon.running(state_dir)
    if live is None:
        print("error: the sandbox is not running (kubelab sandbox start)", file=sys.stderr)
        return 1
    for line in addons.enable(args.name, live.url, live.token, daemon.ca_of(state_dir)):
        print(line)
    print(f"The '{args.name}' addon is enabled")
    return 0


def _max_pods(args: argparse.Namespace) -> int | None:
    from kubelab.sandbox.cluster import DEFAULT_MAX_PODS

    chosen = args.max_pods
    value = os.environ.get("KUBELAB_MAX_PODS", "").strip()
    if chosen is None and value:
        try:
            chosen = int(value)
        except ValueError:
            raise SystemExit(f"KUBELAB_MAX_PODS={value}: expected a whole number of pods "
                             "(0 for no limit)") from None
    if chosen is None:
        return DEFAULT_MAX_PODS
    return chosen if chosen > 0 else None


def _event_ttl(args: argparse.Namespace) -> float:
    if args.event_ttl is not None:
        return float(args.event_ttl)
    if "KUBELAB_EVENT_TTL" in os.environ:
        return float(os.environ["KUBELAB_EVENT_TTL"])
    return VIRTUAL_TIME_EVENT_TTL if args.virtual_time else 3600.0


#: Event TTL of a virtual-time sandbox (simulated seconds): its clock may skip hours while a
#: notebook is graded, and a lesson's checks read the Events its first cells caused.
VIRTUAL_TIME_EVENT_TTL = 86400.0


def serve(state_dir: Path, args: argparse.Namespace) -> int:
    """Run in the foreground until SIGTERM/SIGINT; publish ``server.json`` when ready."""
    from kubelab.sandbox.cluster import Sandbox, SandboxOptions, bundled_kubectl_version
    from kubelab.sandbox.heap import HeapFreezer

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Everything the daemon creates (datastore and its WAL, keys, port) is owner-only.
    os.umask(0o077)
    daemon.tighten(state_dir)
    options = SandboxOptions(state_dir=state_dir, nodes=args.nodes, speed=args.speed,
                             version=args.version or bundled_kubectl_version(),
                             port=args.port, token=daemon.token_for(state_dir),
                             event_ttl=_event_ttl(args), max_pods=_max_pods(args),
                             node_ports=args.node_ports,
                             virtual_time=args.virtual_time,
                             datastore_file=not args.in_memory,
                             # API only (no controllers, scheduler or kubelets): for tests
                             # of the API layer and for "what if nothing reconciles" demos.
                             components=os.environ.get("KUBELAB_COMPONENTS", "1") != "0")

    async def run() -> None:
        sandbox = Sandbox(options)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        HeapFreezer(loop).install()  # full collections scan only what is new since the last
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        port = await sandbox.start(defer_components=True)
        daemon._write_private(state_dir / "port", str(port))
        # The API answers from here on; the components (whose imports take a few hundred
        # milliseconds) start right after, as kube-apiserver comes up before the scheduler
        # and controller manager on a real control plane. The sandbox is announced once the
        # kubelets have registered their nodes, as `kind create cluster` returns once its
        # nodes joined: an immediate `kubectl get nodes` lists them.
        if options.components:
            await sandbox.start_components()
            await sandbox.nodes_registered()
        daemon._write_private(state_dir / "server.json",
                              json.dumps({"pid": os.getpid(), "port": port}))
        logging.getLogger("kubelab.sandbox").info(
            "serving on 127.0.0.1:%d (%d nodes, speed %.3g%s)", port, args.nodes, args.speed,
            ", virtual time" if args.virtual_time else "")
        await stop.wait()
        log = logging.getLogger("kubelab.sandbox")
        log.info("stopping")
        await sandbox.stop()
        log.info("stopped")
        # Everything is committed and closed: skip cancelling idle tasks and joining worker
        # threads, which takes seconds, so `kubelab sandbox stop` returns at once.
        logging.shutdown()
        os._exit(0)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
