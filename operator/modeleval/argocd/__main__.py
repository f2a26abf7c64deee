"""Print the argocd-cm ConfigMap that registers the modeleval health checks."""

from __future__ import annotations

import sys

from modeleval.argocd.health import argocd_cm_snippet


def main() -> None:
    sys.stdout.write(argocd_cm_snippet())


if __name__ == "__main__":
    main()
