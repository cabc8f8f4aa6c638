"""Settings: read from the environment and files, validated with messages naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from upwatch.settings import SettingsError, load_settings, masked, unknown_variables


def test_with_nothing_set_the_database_is_sqlite_under_the_data_dir() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.effective_database_url == "sqlite+aiosqlite:///data/upwatch.db"


def test_values_come_from_upwatch_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UPWATCH_PORT", "9001")
    monkeypatch.setenv("UPWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UPWATCH_LOG_FORMAT", "json")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.log_format == "json"
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path}/upwatch.db"


def test_each_invalid_value_is_reported_with_its_variable_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPWATCH_PORT", "70000")
    monkeypatch.setenv("UPWATCH_LOG_LEVEL", "loud")
    monkeypatch.setenv("UPWATCH_DATABASE_URL", "mysql://db/upwatch")
    monkeypatch.setenv("UPWATCH_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    problems = caught.value.problems
    assert len(problems) == 4
    assert any(p.startswith("UPWATCH_SQLITE_SYNCHRONOUS: ") for p in problems)
    assert any(p.startswith("UPWATCH_PORT: ") and "65535" in p for p in problems)
    assert any(p.startswith("UPWATCH_LOG_LEVEL: ") for p in problems)
    assert "UPWATCH_DATABASE_URL: must be a sqlite:// or postgresql:// URL" in problems


def test_a_short_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWATCH_SECRET_KEY", "short")
    with pytest.raises(SettingsError, match=r"UPWATCH_SECRET_KEY: must be at least 32 characters"):
        load_settings()


def test_a_secret_can_be_read_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40 + "\n")
    monkeypatch.setenv("UPWATCH_SECRET_KEY_FILE", str(key_file))
    settings = load_settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "k" * 40


def test_a_secret_given_both_ways_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40)
    monkeypatch.setenv("UPWATCH_SECRET_KEY_FILE", str(key_file))
    monkeypatch.setenv("UPWATCH_SECRET_KEY", "k" * 40)
    with pytest.raises(SettingsError, match="UPWATCH_SECRET_KEY and UPWATCH_SECRET_KEY_FILE"):
        load_settings()


def test_a_missing_secret_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UPWATCH_DATABASE_URL_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="UPWATCH_DATABASE_URL_FILE: cannot read"):
        load_settings()


def test_the_displayed_configuration_masks_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWATCH_DATABASE_URL", "postgresql://upwatch:hunter2@db:5432/upwatch")
    monkeypatch.setenv("UPWATCH_REDIS_URL", "redis://:redispass@cache:6379/0")
    monkeypatch.setenv("UPWATCH_SECRET_KEY", "s" * 32)
    shown = masked(load_settings())
    text = repr(shown)
    for secret in ("hunter2", "redispass", "s" * 32):
        assert secret not in text
    assert shown["UPWATCH_SECRET_KEY"] == "********"
    assert shown["(effective database)"] == "postgresql://upwatch:***@db:5432/upwatch"


def test_unknown_upwatch_variables_are_pointed_out_but_test_ones_are_not() -> None:
    environ = {
        "UPWATCH_PROT": "1",
        "UPWATCH_PORT": "1",
        "UPWATCH_SECRET_KEY_FILE": "/k",
        "UPWATCH_TEST_DATABASE_URL": "x",
        "PATH": "/bin",
    }
    assert unknown_variables(environ) == ["UPWATCH_PROT"]
