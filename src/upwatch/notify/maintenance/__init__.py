"""Maintenance windows: planned work (one-off or recurring) during which covered monitors
and heartbeats raise no incident and no alert."""
