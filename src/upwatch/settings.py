"""Operator settings, read once from the environment (prefix `UPWATCH_`) and passed in.

Secrets can also come from files: `UPWATCH_SECRET_KEY_FILE=/run/secrets/key` reads the value
from that file (trailing newline stripped), the way Docker and Kubernetes mount secrets.
Nothing in the domain code reads the environment; it receives a `Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "UPWATCH_"
#: SQLite's `PRAGMA synchronous` in WAL mode: `full` syncs the log at every commit (a
#: committed write survives a power loss or an OS crash), `normal` only at checkpoints.
SqliteSynchronous = Literal["normal", "full"]

#: Settings that may be given as `<NAME>_FILE`; they are masked wherever they are shown.
SECRET_FIELDS = (
    "database_url",
    "redis_url",
    "secret_key",
    "metrics_token",
    "admin_password",
    "smtp_password",
)
MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Every setting Upwatch reads. `docs/configuration.md` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True
    )

    host: str = Field("127.0.0.1", description="Address the HTTP server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP server listens on.")
    data_dir: Path = Field(
        Path("data"), description="Directory for the SQLite database and other local state."
    )
    database_url: SecretStr | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database. Unset: SQLite at `<data_dir>/upwatch.db`. "
            "`postgresql://` and `sqlite://` URLs get their async driver automatically."
        ),
    )
    sqlite_synchronous: SqliteSynchronous = Field(
        "full",
        description="SQLite only: `full` (the default) syncs every commit, so what Upwatch "
        "acknowledged (a ping, a check result) survives a power loss or an OS crash; `normal` "
        "syncs the log to disk at checkpoints only (a crash of Upwatch still loses nothing it "
        "acknowledged; a power loss may lose the last commits), about 3 % more pings a "
        "second (docs/benchmarks.md).",
    )
    redis_url: SecretStr | None = Field(
        None, description="Redis URL for shared counters and events across processes."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key for signing and encrypting secrets at rest (at least 32 characters).",
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="`console` for people, `json` for log collectors."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level that is logged."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted, in bytes (else 413)."
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="The scrape token: `/metrics` answers `Authorization: Bearer <token>`.",
    )
    metrics_public: bool = Field(
        False,
        description="Serve `/metrics` without credentials (it names every monitor of every "
        "organization); otherwise it needs UPWATCH_METRICS_TOKEN.",
    )

    rate_limit_per_minute: int = Field(
        600, ge=1, description="Requests per minute allowed to each token (or session)."
    )
    public_rate_limit_per_minute: int = Field(
        60,
        ge=1,
        description="Requests per minute allowed to each client IP on public API routes "
        "(sign-in, invitation acceptance).",
    )
    ping_rate_limit_per_minute: int = Field(
        6000,
        ge=1,
        description="Heartbeat pings per minute accepted from each client IP (then 429).",
    )
    ping_body_max_bytes: int = Field(
        100_000,
        ge=0,
        description="Bytes of a ping's body stored with it (job output); the rest is dropped "
        "and the ping marked truncated.",
    )
    quota_max_heartbeats: int | None = Field(
        None, ge=1, description="Most heartbeats an organization may have. Unset: no limit."
    )
    quota_max_monitors: int | None = Field(
        None, ge=1, description="Most monitors an organization may have. Unset: no limit."
    )
    quota_max_members: int | None = Field(
        None, ge=1, description="Most members an organization may have. Unset: no limit."
    )
    quota_max_tokens: int | None = Field(
        None,
        ge=1,
        description="Most active (unrevoked) tokens an organization may have. Unset: no limit.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest time a client may take to send a request's line and headers "
        "(counted from the connection or the request's first byte); then the connection is "
        "closed.",
    )
    body_idle_timeout_seconds: float = Field(
        15.0,
        gt=0,
        description="Longest pause while a request body is being received; then 408 "
        "`REQUEST_TIMEOUT` and the connection is closed.",
    )
    body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest time to receive a whole request body, however steadily it "
        "trickles; then 408 `REQUEST_TIMEOUT`.",
    )
    keep_alive_timeout_seconds: float = Field(
        5.0, gt=0, description="How long an idle keep-alive connection is kept open."
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Most HTTP connections one server process holds; a request on a "
        "connection beyond it gets 503 `SERVICE_UNAVAILABLE`.",
    )
    streams_per_token: int = Field(
        20,
        ge=1,
        description="Most live event streams (SSE and WebSocket) one token (or dashboard "
        "user) may hold open in one server process; then 429 `TOO_MANY_STREAMS`.",
    )
    streams_per_organization: int = Field(
        100,
        ge=1,
        description="Most live event streams one organization may hold open in one server "
        "process; then 429 `TOO_MANY_STREAMS`.",
    )
    max_streams: int = Field(
        500,
        ge=1,
        description="Most live event streams one server process holds open in all; then 429 "
        "`TOO_MANY_STREAMS`. Keep it below `UPWATCH_MAX_CONNECTIONS`.",
    )
    admin_email: str = Field(
        "admin@example.com",
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Email of the owner created on first run (empty database).",
    )
    admin_password: SecretStr | None = Field(
        None,
        description="Password of the owner created on first run. Unset: one is generated and "
        "printed once.",
    )
    cookie_secure: bool = Field(
        True,
        description="Mark the dashboard session cookie Secure (sent over HTTPS only; browsers "
        "also send it to http://localhost).",
    )
    public_url: str | None = Field(
        None,
        description="The URL people reach Upwatch at, for links in emails. Unset: "
        "http://<host>:<port>.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for emails (invitations, alerts). Unset: no email."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str | None = Field(None, description="SMTP user name, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="`starttls` (port 587), `tls` (port 465) or `none` (local relay)."
    )
    smtp_from: str = Field("upwatch@localhost", description="Sender address of emails.")

    min_interval_seconds: int = Field(
        10, ge=1, le=86400, description="Shortest check interval a monitor may have."
    )
    probe_public_only: bool = Field(
        False,
        description="Refuse probe targets that resolve to private, loopback or link-local "
        "addresses (checked after DNS resolution). For shared multi-tenant instances.",
    )
    allow_unverified_concurrency: bool = Field(
        False,
        description="Allow `concurrency` > 1 on monitors of websites whose ownership is not "
        "verified. Off: Upwatch cannot be turned into a load tool against others' sites.",
    )
    result_retention_days: int = Field(
        30,
        ge=1,
        description="Days raw check results, heartbeat pings and runs are kept (rollups and "
        "state changes are kept longer).",
    )
    rollup_retention_days: int = Field(
        400,
        ge=1,
        description="Days hour and day rollups are kept (minute rollups go with raw results).",
    )
    outage_memory_results: int = Field(
        20_000,
        ge=100,
        description="Check results held in memory while the database is unreachable (about "
        "2.2 KB each: 45 MB, 12 s of checks at 100,000 monitors a minute); older ones go to "
        "the spool in `<data_dir>/spool/`. All are written, in order, once the database is back.",
    )
    outage_spool_max_mb: int = Field(
        1024,
        ge=1,
        description="Size bound of the spool of check results kept on disk during a database "
        "outage (about 1.5 KB each: 700,000 results, 7 minutes at 100,000 monitors a minute, "
        "70 at 10,000). Past it, plain "
        "results are given up (logged as `writer.results_given_up`); state changes and "
        "alerts are always kept.",
    )
    check_concurrency: int = Field(
        500, ge=1, description="Most checks running at once in one process."
    )
    checks_per_host: int = Field(
        10, ge=1, description="Most checks running at once against one host."
    )
    run_checks: bool = Field(
        True,
        description="Run scheduled checks in this process (`upwatch serve`); off for an "
        "API-only process when separate workers run them.",
    )
    allow_private_destinations: bool = Field(
        False,
        description="Allow webhooks and notification channels to private, loopback or "
        "link-local addresses (checked after DNS resolution). Off: an API user cannot make "
        "Upwatch call into its own network.",
    )
    run_dispatcher: bool = Field(
        True,
        description="Deliver notifications from this process. Several dispatchers may run "
        "against one PostgreSQL: each notification is claimed by one.",
    )
    dispatch_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often an idle dispatcher looks for due notifications."
    )
    notification_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Longest wait for one delivery attempt."
    )
    channel_failure_limit: int = Field(
        10,
        ge=1,
        description="Consecutive failed deliveries after which a channel or webhook is disabled "
        "(and the organization's owners told).",
    )
    templates_dir: Path | None = Field(
        None,
        description="A directory of message templates (`subject.txt`, `body.txt`, `body.md`, "
        "`body.html`) that override the built-in ones.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = value.get_secret_value().split(":", 1)[0]
            if scheme.split("+", 1)[0] not in {"sqlite", "postgresql", "postgres"}:
                raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'upwatch.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - signature of the base
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, SecretFileSource(settings_cls))


class SecretFileSource(PydanticBaseSettingsSource):
    """Reads `UPWATCH_<NAME>_FILE` for the secret settings."""

    def get_field_value(
        self,
        field: FieldInfo,  # noqa: ARG002 - signature of the base
        field_name: str,
    ) -> tuple[Any, str, bool]:
        # Required by the base class; `__call__` does the work for all fields at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return read_secret_files(os.environ)


class SettingsError(Exception):
    """Invalid configuration; `problems` name each variable and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def env_name(field_name: str) -> str:
    return f"{ENV_PREFIX}{field_name.upper()}"


def read_secret_files(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in SECRET_FIELDS:
        file_var = f"{env_name(name)}_FILE"
        path = environ.get(file_var)
        if not path:
            continue
        if environ.get(env_name(name)):
            problems.append(f"{env_name(name)} and {file_var}: set one of them, not both")
            continue
        try:
            values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            problems.append(f"{file_var}: cannot read {path}: {exc.strerror}")
    if problems:
        raise SettingsError(problems)
    return values


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, or raise `SettingsError` naming the variables."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(
            [_describe(error["loc"], error["msg"]) for error in exc.errors()]
        ) from None


def _describe(loc: tuple[int | str, ...], message: str) -> str:
    name = env_name(str(loc[0])) if loc else ENV_PREFIX + "*"
    if message.startswith("Extra inputs"):
        message = "unknown setting"
    return f"{name}: {message.removeprefix('Value error, ')}"


def masked(settings: Settings) -> dict[str, str]:
    """The effective configuration for display, with every secret masked."""
    shown: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown[env_name(name)] = "********" if value.get_secret_value() else "(empty)"
        else:
            shown[env_name(name)] = "(unset)" if value is None else str(value)
    shown["(effective database)"] = _mask_url(settings.effective_database_url)
    return shown


def _mask_url(url: str) -> str:
    """Hide the password of a URL (`postgresql://user:***@host/db`)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{location}"


def settings_reference() -> str:
    """The Markdown table of every setting, for docs/configuration.md (`upwatch config docs`)."""
    rows = ["| variable | default | description |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        default = "(unset)" if info.default is None else f"`{info.default}`"
        variable = f"`{env_name(name)}`"
        if name in SECRET_FIELDS:
            variable += f" or `{env_name(name)}_FILE`"
        rows.append(f"| {variable} | {default} | {info.description} |")
    return "\n".join(rows) + "\n"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`UPWATCH_*` variables that match no setting: most often a typo worth pointing out.

    `UPWATCH_TEST_*` belong to the test suite and are not settings.
    """
    known = {env_name(name) for name in Settings.model_fields}
    known |= {f"{env_name(name)}_FILE" for name in SECRET_FIELDS}
    return sorted(
        name
        for name in environ
        if name.startswith(ENV_PREFIX)
        and not name.startswith(f"{ENV_PREFIX}TEST_")
        and name not in known
    )
