"""Entry point of the operator: ``kopf run --standalone -A -m modeleval.main``.

Imports the settings and the handlers, nothing else.
"""

from modeleval import settings as settings
from modeleval.handlers import evaltask as evaltask
from modeleval.handlers import servicegroup as servicegroup
