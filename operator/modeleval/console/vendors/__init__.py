"""The vendor APIs the product was specified from, served over the custom resources.

- ``qianfan``: Baidu Qianfan's evaluation console API, ``POST /v2/eval?Action=…``
  (CreateEvalTask, DescribeEvalTasks, DescribeEvalTask, StopEvalTask, DeleteEvalTask) over
  EvalTasks; bearer tokens or ``bce-auth-v1`` signatures by access keys kept as Secrets.
- ``zstack``: ZStack's ``PUT /zstack/v1/ai/model-services/eval/{uuid}``
  (DeployModelEvalService) over ModelEvalServiceGroups and their EvalTasks, and the queries
  that read them back; ``Authorization: OAuth <token>``.

Shared: ``callers`` (who is asking, what they may do, the token calls are made with),
``cluster`` (object access as the caller), ``ids`` (vendor ids <-> objects), ``resolve``
(models and datasets by vendor id), ``bodies`` (bounded JSON bodies, field-named errors),
``errors`` (failure kinds each vendor renders in its own envelope), ``bce_auth`` (the
signature), ``access_keys`` (the Secrets). Docs: docs/vendor-qianfan.md, docs/vendor-zstack.md.

    routers = vendor_routers(settings, kube)     # mounted by `modeleval console`
"""

from __future__ import annotations

from fastapi import APIRouter

from modeleval.console.settings import VENDOR_APIS, ConsoleSettings
from modeleval.console.vendors.cluster import VendorKube
from modeleval.console.vendors.context import VendorContext


def vendor_routers(settings: ConsoleSettings, kube: VendorKube) -> list[APIRouter]:
    """The routers of the vendor APIs ``settings.vendor_apis`` names (unknown names fail)."""
    unknown = sorted(set(settings.vendor_apis) - set(VENDOR_APIS))
    if unknown:
        raise ValueError(
            f"MODELEVAL_CONSOLE_VENDOR_APIS: unknown {', '.join(unknown)} "
            f"(known: {', '.join(VENDOR_APIS)})"
        )
    if not settings.vendor_apis:
        return []
    from modeleval.console.vendors.qianfan.router import build_router as qianfan_router
    from modeleval.console.vendors.zstack.router import build_router as zstack_router

    ctx = VendorContext.build(settings, kube)
    builders = {"qianfan": qianfan_router, "zstack": zstack_router}
    return [builders[name](ctx) for name in VENDOR_APIS if name in settings.vendor_apis]


__all__ = ["VendorContext", "vendor_routers"]
