"""Entry point of the operator: ``kopf run --standalone -A -m modeleval.main``.

Imports the handlers (start-up settings and both kinds; the admission webhook when
``MODELEVAL_WEBHOOK_PORT`` is set: Kopf refuses admission handlers without a server), nothing
else.
"""

from modeleval.handlers import evaltask as evaltask
from modeleval.handlers import evaltask_fleet as evaltask_fleet
from modeleval.handlers import evaltask_shards as evaltask_shards
from modeleval.handlers import servicegroup as servicegroup
from modeleval.handlers import startup as startup
from modeleval.settings import SETTINGS

if SETTINGS.webhook_port:
    from modeleval.handlers import admission as admission
