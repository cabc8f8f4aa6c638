"""The audit log: who changed what, with diffs, written with the change itself."""
