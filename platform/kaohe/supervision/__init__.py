"""Supervision: dashboards over a subtree, flags, reminders to units,
charts data, and the streaming Excel export machinery every slice uses."""
