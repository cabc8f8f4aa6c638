"""`upwatch user create` and `upwatch token create`: scriptable account set-up."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.accounts import repository, tokens, users
from upwatch.audit.service import Actor, Source
from upwatch.core.clock import SystemClock
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.scopes import Role
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import Membership, Organization
from upwatch.settings import Settings

user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="Personal access tokens.", no_args_is_help=True)
CLI = Actor(source=Source.CLI)
EXIT_REFUSED = 1
EXIT_BAD_ARGUMENT = 2
_DURATION = re.compile(r"^(\d+)([dhm])$")
T = TypeVar("T")


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h` or `90m`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter("use a number and a unit: 30d, 12h or 90m")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
        unit, timedelta(minutes=amount)
    )


def _read_password(password_file: Path | None) -> str | None:
    if password_file is not None:
        return _read_file(password_file).rstrip("\r\n")
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return None


def _read_file(path: Path) -> str:
    """The file's text (`-`: standard input); one clear line and exit 2 if it cannot be read."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
    typer.echo(f"error: --password-file: cannot read {path}: {problem}", err=True)
    raise typer.Exit(EXIT_BAD_ARGUMENT)


async def _organization(session: AsyncSession, name: str | None) -> Organization:
    now = SystemClock().now()
    if name is None:
        found = await repository.first_organization(session)
        return found or await users.create_organization(
            session, CLI, users.DEFAULT_ORGANIZATION, now
        )
    found = await repository.organization_by_name(session, name)
    return found or await users.create_organization(session, CLI, name, now)


def run_with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the configured database; a refusal exits 1 with its message."""

    async def main() -> T:
        database = Database(
            settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except AppError as error:
        typer.echo(f"error: {error.text}", err=True)
        for field in error.fields:
            typer.echo(f"  {field.path}: {field.message}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None


@user_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="The user's email (their sign-in name).")],
    password_file: Annotated[
        Path | None,
        typer.Option(help="Read the password from this file (`-`: standard input)."),
    ] = None,
    role: Annotated[Role, typer.Option(help="Role in the organization.")] = Role.MEMBER,
    org: Annotated[
        str | None,
        typer.Option(help="Organization name; created if missing. Default: the first one."),
    ] = None,
) -> None:
    """Create a user with a role in an organization."""
    from upwatch.cli.main import settings_or_exit  # noqa: PLC0415 - main imports this module

    settings = settings_or_exit()
    password = _read_password(password_file)

    async def work(database: Database) -> str:
        async with unit_of_work(database) as session:
            organization = await _organization(session, org)
            user = await users.create_user(
                session,
                CLI,
                email=email,
                password=password,
                organization=organization,
                role=role,
                now=SystemClock().now(),
            )
            return f"Created {user.email} ({role}) in {organization.name}."

    typer.echo(run_with_database(settings, work))
    if password is None:
        typer.echo("No password set: this user can use tokens but cannot sign in.", err=True)


@user_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Option(help="The user's email.")],
    password_file: Annotated[
        Path | None,
        typer.Option(help="Read the new password from this file (`-`: standard input)."),
    ] = None,
) -> None:
    """Replace a user's password (they forgot it, say); ends all their dashboard sessions."""
    from upwatch.cli.main import settings_or_exit  # noqa: PLC0415

    settings = settings_or_exit()
    password = _read_password(password_file)
    if password is None:
        typer.echo("error: give --password-file (or run it in a terminal).", err=True)
        raise typer.Exit(EXIT_BAD_ARGUMENT)

    async def work(database: Database) -> str:
        async with unit_of_work(database) as session:
            user = await repository.user_by_email(session, email)
            if user is None:
                raise AppError(ErrorCode.NOT_FOUND, f"No user with the email {email}.")
            membership = await _membership(session, user.id, None)
            await users.set_password(
                session, CLI, user, password, membership.organization_id, SystemClock().now(),
                path="--password-file",
            )  # fmt: skip
            return f"Password of {user.email} replaced; their sessions are ended."

    typer.echo(run_with_database(settings, work))


@token_app.command("create")
def create_token(
    user: Annotated[str, typer.Option(help="Email of the user the token acts for.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scopes: Annotated[
        str | None,
        typer.Option(
            help='Comma-separated, e.g. "monitors:read,monitors:write"; within the user\'s role.'
            " Default: everything the role allows (`*` for an owner)."
        ),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime, e.g. 30d, 12h, 90m. Default: never expires.")
    ] = None,
    org: Annotated[
        str | None, typer.Option(help="Organization name. Default: the user's first one.")
    ] = None,
) -> None:
    """Mint a personal access token and print only the token (TOKEN=$(upwatch token create ...))."""
    from upwatch.cli.main import settings_or_exit  # noqa: PLC0415

    settings = settings_or_exit()
    lifetime = parse_duration(expires_in) if expires_in else None
    asked = [item.strip() for item in scopes.split(",") if item.strip()] if scopes else None

    async def work(database: Database) -> str:
        now = SystemClock().now()
        async with unit_of_work(database) as session:
            owner = await repository.user_by_email(session, user)
            if owner is None:
                raise AppError(ErrorCode.NOT_FOUND, f"No user with the email {user}.")
            membership = await _membership(session, owner.id, org)
            # The operator stands above every role, but a token never exceeds its owner's.
            role = Role(membership.role)
            scope_list = asked if asked is not None else tokens.grantable_scopes(["*"], role)
            tokens.check_grantable(scope_list, held=["*"], role=role)
            _, plaintext = await tokens.create_token(
                session,
                CLI.as_user(owner.id, owner.email),
                organization_id=membership.organization_id,
                user_id=owner.id,
                name=name,
                scopes=scope_list,
                expires_at=now + lifetime if lifetime else None,
                daily_mutation_limit=None,
                now=now,
            )
            return plaintext

    typer.echo(run_with_database(settings, work))


async def _membership(session: AsyncSession, user_id: int, org: str | None) -> Membership:
    if org is None:
        found = await repository.first_membership(session, user_id)
    else:
        organization = await repository.organization_by_name(session, org)
        found = (
            await repository.membership(session, organization.id, user_id) if organization else None
        )
    if found is None:
        raise AppError(ErrorCode.NOT_FOUND, "The user is not a member of that organization.")
    return found
