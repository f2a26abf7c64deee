"""``python -m modeleval_testkit.executor --kubeconfig PATH [options]``: run until SIGINT/SIGTERM.

Plays kubelet and workload controllers for the API server of the kubeconfig (whose user must
be allowed everything), e.g. next to ``python -m modeleval_testkit.apiserver``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .config import MOCK_MODEL_SERVER, ExecutorConfig
from .executor import Executor


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m modeleval_testkit.executor", description=__doc__
    )
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="GLOB=COMMAND",
        help="command for images matching GLOB (repeatable): '*vllm*=python -m x --port {port}'",
    )
    parser.add_argument("--gpus", type=int, default=0, help="nvidia.com/gpu capacity of the node")
    parser.add_argument("--unpullable", action="append", default=[], metavar="GLOB")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--work-dir", type=Path, default=None)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> ExecutorConfig:
    commands: dict[str, Sequence[str]] = {}
    for item in args.image:
        pattern, _, command = item.partition("=")
        commands[pattern] = tuple(shlex.split(command))
    commands.setdefault("*vllm*", MOCK_MODEL_SERVER)
    commands.setdefault("*mock*", MOCK_MODEL_SERVER)
    return ExecutorConfig(
        image_commands=commands,
        gpu_capacity={"nvidia.com/gpu": args.gpus},
        unpullable_images=tuple(args.unpullable),
        time_scale=args.time_scale,
        work_dir=args.work_dir,
    )


def login(kubeconfig: Path) -> tuple[str, str | None, Path | None]:
    """Server URL, bearer token and CA file of the kubeconfig's current context."""
    from kubernetes import client, config

    settings = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=settings
    )
    auth = settings.auth_settings().get("BearerToken")
    token = str(auth["value"]).removeprefix("Bearer ") if auth else None
    ca = Path(settings.ssl_ca_cert) if settings.ssl_ca_cert else None
    if ca is not None:  # the loader's temp file may vanish: keep a copy
        copy = Path(tempfile.mkdtemp(prefix="executor-ca-")) / "ca.crt"
        copy.write_bytes(ca.read_bytes())
        ca = copy
    return str(settings.host), token, ca


async def serve(args: argparse.Namespace) -> None:
    url, token, ca = login(args.kubeconfig)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Executor(url, token, build_config(args), ca_file=ca) as executor:
        print(f"executor running for {url}; work dir {executor.work_dir}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
