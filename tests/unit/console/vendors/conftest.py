"""The vendor APIs in process: the ``vendors`` fixture (see `tests.support.vendor_app`
for the cluster it plays and its tokens)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from modeleval.console.vendors import vendor_routers
from modeleval.console.web.app import create_app
from tests.support.console import build_services, standard_kube
from tests.support.vendor_app import NS, Vendors, make_cluster


@pytest.fixture
def vendors(tmp_path: Path, migrated_database: Path) -> Iterator[Vendors]:
    database = tmp_path / "console.db"
    shutil.copyfile(migrated_database, database)
    cluster = make_cluster()
    services = build_services(
        f"sqlite:///{database}",
        standard_kube(),
        vendor_namespace=NS,
        access_key_namespace="modeleval-system",
    )
    app = create_app(services, routers=vendor_routers(services.settings, cluster))
    try:
        yield Vendors(services, cluster, app)
    finally:
        services.close()
