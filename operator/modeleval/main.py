"""Entry point of the operator: ``kopf run --standalone -A -m modeleval.main``.

Imports the settings and the handlers, nothing else.
"""

from modeleval import settings as settings  # noqa: F401  (registers @kopf.on.startup)
from modeleval.handlers import evaltask as evaltask  # noqa: F401
from modeleval.handlers import servicegroup as servicegroup  # noqa: F401
