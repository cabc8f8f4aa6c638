"""Alembic migrations (dated file names); run with `upwatch db upgrade`."""
