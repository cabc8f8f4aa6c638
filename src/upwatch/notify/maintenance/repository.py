"""Queries of maintenance windows."""

from __future__ import annotations

from upwatch.db.repository import Repository
from upwatch.models import MaintenanceWindow


class WindowRepository(Repository[MaintenanceWindow]):
    model = MaintenanceWindow
    noun = "maintenance window"
