"""REST API of routine assessment under /api/v1/routine: one blueprint
(``blp``, auto-registered from this package) with its endpoints in one module
per resource.  Each endpoint: load in scope (404 outside) → check the
permission or the rater relation (403 inside the scope, naming the rule) →
service → one commit."""
from __future__ import annotations

from . import units, periods, ratings, events, results, self_service, tasks  # noqa: F401  (endpoints, in this order)
from .common import blp  # noqa: F401
