"""The arithmetic of the annual assessment (年度考核): pure functions, no Flask,
no database, one module per part: ``codes`` (grades, result codes,
sanctions), ``person`` (inputs and results), ``score``, ``eligibility``
(records and the routine → annual rules), ``quota``, ``unit`` (one unit's
whole outcome), ``pay`` and ``counters``.  The same code explains one person's result on a page and
computes a province of a million people in a batch.

Rules encoded here (DOMAIN.md is the rulebook; every number is a policy key):

* annual score = weighted routine mean + weighted annual review, plus the
  special-assessment contribution (``annual.special_mode``):
  ``add_subtract`` adds ``special_weight × Σ points`` (points are signed, on the
  100-point scale, clamped to ±100); ``weighted`` treats the mean special score
  as one more component with weight ``special_weight`` (the other weights
  shrink by the same share).  A missing component's weight is spread over the
  present ones (the explanation says so).
* eligibility, in this order (the first outcome that applies wins):
  leave over ``eligibility.leave_days`` → 6A; probation at the year's end → 5A
  (comment only); open investigation → 5B (no grade until closed, then 补定);
  sanctions (警告: not 优秀; 记过: 5C; 记大过/降级/撤职: 5C this and next year;
  诫勉/调整职务: not 优秀; the heaviest governs) ; refusal → 不称职 (4).
* grade bands (``annual.grade_bands``) give 称职/基本称职/不称职; 优秀 only by
  quota, to the highest eligible scores; a tie across the quota line is
  flagged for the committee, never broken.
* performance pay sums exactly to the pool in cents (largest remainder).
"""
from __future__ import annotations
