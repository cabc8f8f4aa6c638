"""`upwatch user create` and `upwatch token create`, run in-process against a real database,
and the tokens they mint used over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SettingsFactory
from tests.support import http
from tests.support.accounts import Seeder
from tests.support.server import serving
from upwatch.api.app import create_app
from upwatch.cli.accounts import parse_duration
from upwatch.cli.main import app
from upwatch.settings import Settings

runner = CliRunner()
TOKEN = re.compile(r"^uw_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    return make_settings(database_url=database_url)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "UPWATCH_DATABASE_URL": settings.effective_database_url,
        "UPWATCH_DATA_DIR": str(settings.data_dir),
    }


def _create_user(settings: Settings, tmp_path: Path, *extra: str) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("a long enough password\n")
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--password-file",
            str(password_file),
            *extra,
        ],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output


def test_a_created_user_gets_a_token_that_works_over_http(
    settings: Settings, tmp_path: Path
) -> None:
    _create_user(settings, tmp_path, "--role", "admin", "--org", "Platform team")
    result = runner.invoke(
        app,
        ["token", "create", "--user", "ops@example.com", "--name", "deploy bot"],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert TOKEN.match(token), "stdout must hold only the token"
    with serving(create_app(settings)) as url:
        me = http.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["role"] == "admin"
    assert me.json()["organization"]["name"] == "Platform team"
    assert me.json()["user"]["email"] == "ops@example.com"


def test_token_scopes_and_expiry_from_the_command_line_are_enforced(
    settings: Settings, tmp_path: Path
) -> None:
    _create_user(settings, tmp_path)
    result = runner.invoke(
        app,
        [
            "token",
            "create",
            "--user",
            "ops@example.com",
            "--name",
            "reader",
            "--scopes",
            "tokens:read,organization:read",
            "--expires-in",
            "30d",
        ],
        env=_env(settings),
    )
    token = result.stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    with serving(create_app(settings)) as url:
        listed = http.get(f"{url}/api/v1/me/tokens", headers=headers)
        refused = http.post(f"{url}/api/v1/me/tokens", headers=headers, json={"name": "x"})
    assert listed.status_code == 200
    [entry] = listed.json()["data"]
    assert entry["scopes"] == ["organization:read", "tokens:read"]
    assert entry["expires_at"] is not None
    assert refused.status_code == 403
    assert refused.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"


def test_cli_changes_are_in_the_audit_log_with_source_cli(
    settings: Settings, tmp_path: Path
) -> None:
    _create_user(settings, tmp_path)
    runner.invoke(
        app, ["token", "create", "--user", "ops@example.com", "--name", "t"], env=_env(settings)
    )
    rows = Seeder(settings.effective_database_url).rows(
        "SELECT action, source, actor_email FROM audit_logs ORDER BY id"
    )
    assert ("member.add", "cli", None) in rows
    assert ("token.create", "cli", "ops@example.com") in rows


def test_a_token_for_an_unknown_user_is_refused_with_a_clear_message(settings: Settings) -> None:
    result = runner.invoke(
        app, ["token", "create", "--user", "nobody@example.com", "--name", "t"], env=_env(settings)
    )
    assert result.exit_code == 1
    assert "No user with the email nobody@example.com" in result.output


def test_an_unknown_scope_is_refused_naming_it(settings: Settings, tmp_path: Path) -> None:
    _create_user(settings, tmp_path)
    result = runner.invoke(
        app,
        ["token", "create", "--user", "ops@example.com", "--name", "t", "--scopes", "root:all"],
        env=_env(settings),
    )
    assert result.exit_code == 1
    assert "unknown scope: root:all" in result.output


def test_a_token_never_exceeds_its_owners_role(settings: Settings, tmp_path: Path) -> None:
    _create_user(settings, tmp_path, "--role", "viewer")
    command = ["token", "create", "--user", "ops@example.com", "--name", "t"]
    refused = runner.invoke(app, [*command, "--scopes", "*"], env=_env(settings))
    default = runner.invoke(app, command, env=_env(settings))

    assert refused.exit_code == 1
    assert "Your role (viewer) does not allow *" in refused.output
    assert default.exit_code == 0, default.output
    headers = {"Authorization": f"Bearer {default.stdout.strip()}"}
    with serving(create_app(settings)) as url:
        me = http.get(f"{url}/api/v1/me", headers=headers).json()
    assert me["token"]["scopes"] == me["effective_scopes"]
    assert "monitors:write" not in me["token"]["scopes"]


def test_a_second_user_with_the_same_email_is_refused(settings: Settings, tmp_path: Path) -> None:
    _create_user(settings, tmp_path)
    password_file = tmp_path / "password"
    result = runner.invoke(
        app,
        ["user", "create", "--email", "ops@example.com", "--password-file", str(password_file)],
        env=_env(settings),
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


@pytest.mark.parametrize(("text", "hours"), [("30d", 720), ("12h", 12), ("90m", 1.5)])
def test_lifetimes_read_as_days_hours_or_minutes(text: str, hours: float) -> None:
    assert parse_duration(text).total_seconds() == hours * 3600


def test_a_password_file_that_does_not_exist_is_one_clear_line_not_a_traceback(
    settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.txt"
    for command in ("create", "set-password"):
        arguments = ["user", command, "--email", "a@example.com", "--password-file", str(missing)]
        result = runner.invoke(app, arguments, env=_env(settings))

        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert str(missing) in result.stderr
        assert "No such file" in result.stderr
    assert Seeder(settings.effective_database_url).scalar("select count(*) from users") == 0


def test_set_password_replaces_the_password_and_ends_the_users_sessions(
    settings: Settings, tmp_path: Path
) -> None:
    _create_user(settings, tmp_path)
    new_file = tmp_path / "new-password"
    new_file.write_text("another long passphrase\n")
    with serving(create_app(settings)) as url:
        before = http.post(f"{url}/api/v1/auth/login", json={
            "email": "ops@example.com", "password": "a long enough password"
        })  # fmt: skip
        cookie = {"Cookie": f"upwatch_session={before.cookies.get('upwatch_session')}"}
        assert http.get(f"{url}/api/v1/me", headers=cookie).status_code == 200

        result = runner.invoke(
            app,
            [
                "user",
                "set-password",
                "--email",
                "ops@example.com",
                "--password-file",
                str(new_file),
            ],
            env=_env(settings),
        )

        assert result.exit_code == 0, result.output
        assert "ops@example.com" in result.stdout
        assert http.get(f"{url}/api/v1/me", headers=cookie).status_code == 401
        old = {"email": "ops@example.com", "password": "a long enough password"}
        new = {"email": "ops@example.com", "password": "another long passphrase"}
        assert http.post(f"{url}/api/v1/auth/login", json=old).status_code == 401
        assert http.post(f"{url}/api/v1/auth/login", json=new).status_code == 200


def test_set_password_for_an_unknown_user_or_a_short_password_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    _create_user(settings, tmp_path)
    short = tmp_path / "short"
    short.write_text("short\n")

    unknown = runner.invoke(app, ["user", "set-password", "--email", "who@example.com",
                                  "--password-file", str(short)], env=_env(settings))  # fmt: skip
    too_short = runner.invoke(app, ["user", "set-password", "--email", "ops@example.com",
                                    "--password-file", str(short)], env=_env(settings))  # fmt: skip

    assert unknown.exit_code == 1
    assert "who@example.com" in unknown.stderr
    assert too_short.exit_code == 1
    assert "at least" in too_short.stderr
