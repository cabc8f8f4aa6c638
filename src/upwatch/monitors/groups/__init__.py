"""Monitor groups: named sets of monitors (`group_id` on a monitor)."""
