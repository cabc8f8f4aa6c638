"""The `upwatch` command line, run in-process with the real commands."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from upwatch import __version__
from upwatch.cli.main import app

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"upwatch {__version__}"


def test_config_check_prints_the_effective_configuration_with_secrets_masked() -> None:
    result = runner.invoke(
        app,
        ["config", "check"],
        env={"UPWATCH_PORT": "8123", "UPWATCH_SECRET_KEY": "x" * 32},
    )
    assert result.exit_code == 0, result.output
    assert "UPWATCH_PORT" in result.output
    assert "8123" in result.output
    assert "x" * 32 not in result.output
    assert "Configuration is valid." in result.output


def test_config_check_lists_every_error_and_exits_2() -> None:
    result = runner.invoke(
        app, ["config", "check"], env={"UPWATCH_PORT": "zero", "UPWATCH_LOG_FORMAT": "xml"}
    )
    assert result.exit_code == 2
    assert "UPWATCH_PORT:" in result.output
    assert "UPWATCH_LOG_FORMAT:" in result.output


def test_config_check_warns_about_a_misspelt_variable() -> None:
    result = runner.invoke(app, ["config", "check"], env={"UPWATCH_PROT": "9000"})
    assert result.exit_code == 0
    assert "UPWATCH_PROT is not an Upwatch setting" in result.output


def test_db_upgrade_and_downgrade_move_the_schema(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    env = {"UPWATCH_DATABASE_URL": f"sqlite:///{database}"}

    upgraded = runner.invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert _revision(database) is not None

    downgraded = runner.invoke(app, ["db", "downgrade", "base"], env=env)
    assert downgraded.exit_code == 0, downgraded.output
    assert _revision(database) is None


def test_db_downgrade_requires_a_target_revision() -> None:
    result = runner.invoke(app, ["db", "downgrade"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output
    assert "REVISION" in result.output


def _revision(database: Path) -> str | None:
    with sqlite3.connect(database) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])
