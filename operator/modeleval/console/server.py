"""``modeleval console``: migrate the database, then serve the application with uvicorn."""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from modeleval.console.settings import ConsoleSettings

log = logging.getLogger("modeleval.console")


def serve(settings: ConsoleSettings | None = None) -> int:
    import uvicorn

    from modeleval.console.vendors import vendor_routers
    from modeleval.console.web.app import create_app
    from modeleval.console.web.services import Services

    settings = settings or ConsoleSettings()
    logging.basicConfig(
        level=os.environ.get("MODELEVAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call otherwise
    services = Services.build(settings)
    log.info(
        "console on http://%s:%d (database %s)",
        settings.host,
        settings.port,
        services.store.engine.url.render_as_string(hide_password=True),
    )
    app = create_app(services, routers=vendor_routers(settings, services.kube))
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            proxy_headers=True,
            server_header=False,
        )
    finally:
        services.close()
    return 0


def settings_from_args(
    *, host: str | None, port: int | None, database: str | None
) -> ConsoleSettings:
    settings = ConsoleSettings()
    changes: dict[str, object] = {}
    if host:
        changes["host"] = host
    if port:
        changes["port"] = port
    if database:
        changes["database_url"] = database
    return replace(settings, **changes)  # type: ignore[arg-type]
