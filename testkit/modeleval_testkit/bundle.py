"""Repository files the test kit carries as package data: the operator's RBAC, its admission
webhook, the console's manifests and the samples.

``modeleval demo`` and `LocalCluster` must work from installed wheels, outside a checkout, so
the kit ships copies of ``manifests/rbac/``, ``manifests/webhook/``, ``manifests/console/`` and
``manifests/samples/`` under ``data/``. The copies are generated: ``python -m
modeleval_testkit.bundle`` writes them from a checkout and ``--check`` fails when they differ
(``scripts/test.sh`` runs it, like the CRD drift check).

    rbac_manifests()        # the operator's RBAC files, in kustomization order
    console_rbac_manifest() # the console's ServiceAccount, ClusterRole and binding
    samples_dir()           # the samples (00-dataset-configmap.yaml, 10-servicegroup-…)
    webhook_dir()           # ValidatingWebhookConfiguration and the webhook's RBAC
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED = {
    "rbac": Path("manifests/rbac"),
    "console": Path("manifests/console"),
    "samples": Path("manifests/samples"),
    "webhook": Path("manifests/webhook"),
}
"""Bundle folder -> the repository folder it is copied from (every ``*.yaml`` in it)."""


def samples_dir() -> Path:
    return DATA_DIR / "samples"


def webhook_dir() -> Path:
    return DATA_DIR / "webhook"


def console_rbac_manifest(folder: Path | None = None) -> Path:
    """The console's RBAC file of ``folder`` (default: the bundled copy of manifests/console)."""
    return (folder if folder is not None else DATA_DIR / "console") / "rbac.yaml"


def rbac_manifests(folder: Path | None = None) -> list[Path]:
    """The RBAC files of ``folder`` (default: the bundled copy) in kustomization order."""
    rbac = folder if folder is not None else DATA_DIR / "rbac"
    kustomization = rbac / "kustomization.yaml"
    if kustomization.exists():
        listed = yaml.safe_load(kustomization.read_text(encoding="utf-8")).get("resources") or []
        return [rbac / name for name in listed if (rbac / name).is_file()]
    return sorted(p for p in rbac.glob("*.yaml") if p.name != "kustomization.yaml")


def expected_files(root: Path) -> dict[Path, bytes]:
    """Every bundled file and the content it must have, read from the checkout at ``root``."""
    files: dict[Path, bytes] = {}
    for name, source in BUNDLED.items():
        for path in sorted((root / source).glob("*.yaml")):
            files[DATA_DIR / name / path.name] = path.read_bytes()
    return files


def sync(root: Path, *, check: bool) -> list[Path]:
    """Bring the bundle in line with the checkout (or only report, with ``check``).

    Returns the files that were (or would be) written or removed."""
    want = expected_files(root)
    changed = [
        path for path, data in want.items() if not path.exists() or path.read_bytes() != data
    ]
    extra = [p for name in BUNDLED for p in (DATA_DIR / name).glob("*.yaml") if p not in want]
    if not check:
        for path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(want[path])
        for path in extra:
            path.unlink()
    return sorted(changed + extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="copy manifests/ files into the test kit")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--check", action="store_true", help="fail if the bundle is stale")
    args = parser.parse_args(argv)
    stale = sync(args.root.resolve(), check=args.check)
    for path in stale:
        print(
            f"{'stale' if args.check else 'wrote'}: {path.relative_to(DATA_DIR.parent)}",
            file=sys.stderr,
        )
    if args.check and stale:
        print("run `python -m modeleval_testkit.bundle` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
