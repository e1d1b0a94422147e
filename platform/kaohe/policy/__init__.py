"""The policy cascade: every assessment rule is a setting resolved along the
org path (inherit, override, lock, bounds, provenance), versioned by year;
plus organisational-performance grades, excellence quotas and allocations."""
