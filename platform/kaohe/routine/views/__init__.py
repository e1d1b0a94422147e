"""Pages of routine assessment, one blueprint (``routine``) in several
modules: staff pages (sign-in, records, result) work on a phone; the rating
form; the office's unit set-up and period pages; the home panels.  Forms
post back to their page, are validated by the API's schemas and services,
and show the same field messages; no page needs JavaScript."""
from __future__ import annotations

from . import panels, periods, rating, staff, talks, units  # noqa: F401  (routes on the blueprint)
from .common import bp  # noqa: F401
