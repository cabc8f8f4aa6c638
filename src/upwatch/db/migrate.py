"""Alembic, driven from code so `upwatch db upgrade` works wherever the package is installed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from upwatch.db.engine import normalize_database_url

SCRIPT_LOCATION = "upwatch:migrations"


def alembic_config(database_url: str, instance_key: str | None = None) -> Config:
    """`instance_key`: for migrations that seal or open secrets; without it they resolve the
    key from the settings, as the application does."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # `%` would be read as interpolation by configparser; URLs may contain it (passwords).
    config.set_main_option(
        "sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%")
    )
    config.attributes["configure_logging"] = False
    config.attributes["instance_key"] = instance_key
    return config


def upgrade(database_url: str, revision: str = "head", *, instance_key: str | None = None) -> None:
    command.upgrade(alembic_config(database_url, instance_key), revision)


def downgrade(database_url: str, revision: str, *, instance_key: str | None = None) -> None:
    command.downgrade(alembic_config(database_url, instance_key), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrations disagree (`alembic check`)."""
    command.check(alembic_config(database_url))
