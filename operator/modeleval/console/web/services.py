"""Everything a request handler needs, built once per process and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from modeleval.console.annotations import Annotations
from modeleval.console.auth import Auth
from modeleval.console.db.engine import make_engine, upgrade
from modeleval.console.kubeapi import KubeApi
from modeleval.console.settings import ConsoleSettings
from modeleval.console.store import Store
from modeleval.console.sync import Mirror


@dataclass
class Services:
    settings: ConsoleSettings
    store: Store
    annotations: Annotations
    kube: KubeApi
    auth: Auth
    mirror: Mirror

    @classmethod
    def build(
        cls, settings: ConsoleSettings, *, kube: KubeApi | None = None, migrate: bool = True
    ) -> Services:
        """Connect to the database (migrating it to the newest schema) and the API server."""
        engine = make_engine(settings.database_url)
        if migrate:
            upgrade(engine)
        store = Store(engine)
        kube = kube or KubeApi.from_environment()
        auth = Auth(settings, kube, store)
        return cls(
            settings=settings,
            store=store,
            annotations=Annotations(store),
            kube=kube,
            auth=auth,
            mirror=Mirror(settings, store, kube, auth),
        )

    def close(self) -> None:
        self.mirror.stop()
        self.kube.close()
        self.store.engine.dispose()
