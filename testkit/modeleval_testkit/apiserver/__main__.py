"""``python -m modeleval_testkit.apiserver``: run the emulator by hand.

Example::

    python -m modeleval_testkit.apiserver --port 8001 --crds crds/ --kubeconfig /tmp/kc.yaml
    KUBECONFIG=/tmp/kc.yaml kubectl get crds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from modeleval_testkit.apiserver.server import ApiServer, Source
from modeleval_testkit.apiserver.testcrd import widget_crd


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m modeleval_testkit.apiserver", description="Run the Kubernetes API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="PATH",
        help="CRD file or directory (repeatable)",
    )
    parser.add_argument(
        "--manifests",
        action="append",
        default=[],
        metavar="PATH",
        help="other manifests to apply at start, e.g. RBAC (repeatable)",
    )
    parser.add_argument("--kubeconfig", type=Path, help="write a superuser kubeconfig here")
    parser.add_argument(
        "--no-tls", action="store_true", help="plain HTTP (kubectl then sends no credentials)"
    )
    parser.add_argument(
        "--demo-crd", action="store_true", help="also register the example widgets.example.test CRD"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    crds: list[Source] = list(args.crds)
    if args.demo_crd:
        crds.append(widget_crd())
    server = ApiServer(crds=crds)
    if args.manifests:
        server.load_manifests(args.manifests)
    await server.start(args.host, args.port, tls=not args.no_tls)
    print(f"Kubernetes API emulator at {server.url}", flush=True)
    if args.kubeconfig:
        server.write_kubeconfig(args.kubeconfig)
        print(f"kubeconfig: {args.kubeconfig} (export KUBECONFIG={args.kubeconfig})", flush=True)
    print(f"superuser token: {server.admin_token}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
