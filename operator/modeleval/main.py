"""Entry point of the operator: ``kopf run --standalone -A -m modeleval.main``.

Imports the handlers (start-up settings and both kinds), nothing else.
"""

from modeleval.handlers import evaltask as evaltask
from modeleval.handlers import servicegroup as servicegroup
from modeleval.handlers import startup as startup
