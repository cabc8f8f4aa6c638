"""`upwatch serve | db | config`: the operator's commands."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from upwatch import __version__
from upwatch.cli.accounts import token_app, user_app
from upwatch.settings import Settings, SettingsError, load_settings, masked, unknown_variables

if TYPE_CHECKING:
    import uvicorn

    from upwatch.accounts.bootstrap import FirstRun
    from upwatch.db.engine import Database

app = typer.Typer(
    help="Upwatch: self-hosted uptime and performance monitoring.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        typer.echo("Configuration error:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"upwatch {__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Upwatch: self-hosted uptime and performance monitoring."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides UPWATCH_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides UPWATCH_PORT.")] = None,
    migrate: Annotated[
        bool, typer.Option(help="Apply pending database migrations before serving.")
    ] = True,
    checks: Annotated[
        bool | None,
        typer.Option(
            "--checks/--no-checks",
            help="Overrides UPWATCH_RUN_CHECKS: --no-checks when `upwatch worker` runs them.",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes sharing the port (PostgreSQL, with --no-checks; Redis "
            "recommended for shared rate limits and live events).",
        ),
    ] = 1,
) -> None:
    """Start the HTTP API server (and, unless told not to, the scheduled checks)."""
    import uvicorn  # noqa: PLC0415 - heavy; only this command needs it

    from upwatch.api.app import create_app  # noqa: PLC0415
    from upwatch.api.serving import serve_options  # noqa: PLC0415
    from upwatch.db import migrate as migrations  # noqa: PLC0415
    from upwatch.db.engine import is_sqlite  # noqa: PLC0415
    from upwatch.logs import configure_logging, get_logger  # noqa: PLC0415

    settings = settings_or_exit(host=host, port=port, run_checks=checks)
    if workers > 1:
        problem = None
        if is_sqlite(settings.effective_database_url):
            problem = "needs PostgreSQL (UPWATCH_DATABASE_URL=postgresql://...)"
        elif settings.run_checks:
            problem = (
                "needs --no-checks: each process would run every check; run them with "
                "`upwatch worker`"
            )
        if problem:
            typer.echo(f"error: serve --workers {workers} {problem}.", err=True)
            raise typer.Exit(EXIT_CONFIG_ERROR)
    configure_logging(settings)
    log = get_logger("upwatch.cli")
    if migrate:
        migrations.upgrade(settings.effective_database_url)
    # Bound before the first run: a start that cannot listen must not spend the one-time
    # credentials (the next start would have printed nothing).
    listener = listening_socket(settings.host, settings.port)
    announce_first_run(settings)
    log.info(
        "serve.starting",
        host=settings.host,
        port=settings.port,
        processes=workers,
        version=__version__,
    )
    if workers > 1:
        # Each process builds its app from the environment: hand it what the options said.
        os.environ["UPWATCH_HOST"] = settings.host
        os.environ["UPWATCH_PORT"] = str(settings.port)
        os.environ["UPWATCH_RUN_CHECKS"] = "false"
    config = uvicorn.Config(
        "upwatch.api.app:app_from_environment" if workers > 1 else create_app(settings),
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,  # event streams stay open; do not wait for them forever
        loop="uvloop",
        **serve_options(settings),  # httptools, bounded for slow clients
    )
    serve_on(config, listener)


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound now; a port that is taken exits 1 with one clear line."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}.", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    listener.set_inheritable(True)  # the processes of --workers N serve on it
    return listener


def serve_on(config: uvicorn.Config, listener: socket.socket) -> None:
    """What `uvicorn.run` does, on a socket bound beforehand."""
    import uvicorn  # noqa: PLC0415 - heavy; only this command needs it
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    if config.workers > 1:
        Multiprocess(config, sockets=[listener]).run()
        return
    server = uvicorn.Server(config)
    # uvicorn re-raises the SIGINT it handled once it has shut down: a clean stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listener])
    if not server.started:
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def worker(
    processes: Annotated[
        int, typer.Option(min=1, help="Worker processes sharing the monitors (id % N).")
    ] = 1,
    shard: Annotated[
        str | None, typer.Option(hidden=True, help="INDEX/COUNT: run one shard (internal).")
    ] = None,
) -> None:
    """Run the scheduled checks apart from the API (PostgreSQL): start `upwatch serve
    --no-checks` for the API, and this beside it, on one machine or several."""
    from upwatch.cli import worker as workers  # noqa: PLC0415
    from upwatch.db.engine import is_sqlite  # noqa: PLC0415
    from upwatch.engine.checks.shards import Shard  # noqa: PLC0415
    from upwatch.logs import configure_logging  # noqa: PLC0415

    settings = settings_or_exit()
    if is_sqlite(settings.effective_database_url):
        typer.echo(
            "error: upwatch worker needs PostgreSQL (UPWATCH_DATABASE_URL=postgresql://...). "
            "On SQLite, `upwatch serve` runs the checks itself.",
            err=True,
        )
        raise typer.Exit(EXIT_CONFIG_ERROR)
    configure_logging(settings)
    if shard is not None:
        try:
            own = Shard.parse(shard)
        except ValueError as exc:
            typer.echo(f"error: --shard: {exc}", err=True)
            raise typer.Exit(EXIT_CONFIG_ERROR) from None
        workers.run_shard_until_signalled(settings, own, supervised=True)
    elif processes == 1:
        workers.run_shard_until_signalled(settings, Shard(0, 1), supervised=False)
    else:
        raise typer.Exit(workers.Supervisor(settings, processes).run())


def announce_first_run(settings: Settings) -> None:
    """On an empty database, create the first owner and say once how to get in."""
    from upwatch.accounts.bootstrap import first_run  # noqa: PLC0415
    from upwatch.cli.accounts import run_with_database  # noqa: PLC0415
    from upwatch.core.clock import SystemClock  # noqa: PLC0415
    from upwatch.db.unit_of_work import unit_of_work  # noqa: PLC0415

    async def work(database: Database) -> FirstRun | None:
        async with unit_of_work(database) as session:
            password = settings.admin_password
            return await first_run(
                session,
                email=settings.admin_email,
                password=password.get_secret_value() if password else None,
                now=SystemClock().now(),
            )

    created = run_with_database(settings, work)
    if created is None:
        return
    # Printed, never logged: these credentials must not end up in log storage.
    password_line = (
        f"  password: {created.password}   (generated; change it after signing in)"
        if created.password
        else "  password: the one in UPWATCH_ADMIN_PASSWORD"
    )
    typer.echo(
        "\n".join(
            [
                "",
                "Upwatch first run: created the organization "
                f"'{created.organization}' and its owner.",
                f"  sign in:  {created.email}",
                password_line,
                f"  API token (shown once): {created.token}",
                f"  try it:   curl -H 'Authorization: Bearer {created.token}' "
                f"{settings.effective_public_url}/api/v1/me",
                "",
            ]
        )
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from upwatch.db import migrate as migrations  # noqa: PLC0415

    settings = settings_or_exit()
    migrations.upgrade(settings.effective_database_url, revision)
    typer.echo(f"Database upgraded to {revision}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(metavar="REVISION", help="Target revision: an id, -1, or base.")
    ],
) -> None:
    """Revert migrations down to REVISION. Data in dropped tables is lost."""
    from upwatch.db import migrate as migrations  # noqa: PLC0415

    settings = settings_or_exit()
    migrations.downgrade(settings.effective_database_url, revision)
    typer.echo(f"Database downgraded to {revision}.")


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration and print it (secrets masked); exit 2 on errors."""
    settings = settings_or_exit()
    width = max(len(name) for name in masked(settings))
    for name, value in masked(settings).items():
        typer.echo(f"{name.ljust(width)}  {value}")
    for name in unknown_variables(os.environ):
        typer.echo(f"warning: {name} is not an Upwatch setting (typo?)", err=True)
    typer.echo("Configuration is valid.")


@config_app.command("docs")
def config_docs() -> None:
    """Print the reference table of every setting (Markdown), as in docs/configuration.md."""
    from upwatch.settings import settings_reference  # noqa: PLC0415

    typer.echo(settings_reference(), nl=False)


def main() -> None:
    app(prog_name="upwatch")
