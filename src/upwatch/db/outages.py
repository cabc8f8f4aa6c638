"""Telling "the database is unreachable now" from every other failure.

An outage is worth waiting out (the API answers 503 with `Retry-After`, the result writer
keeps what it could not write and tries again); any other error is a bug or bad data, and
retrying it would only repeat it.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import exc as sa

# SQLSTATE classes and codes of a server that cannot serve: 08 connection exception,
# 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up or
# shutting down), 53300 too many connections.
UNAVAILABLE_SQLSTATE_CLASSES = ("08",)
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite: the file cannot be opened (a missing or unmounted volume), or the write lock was
# held beyond the busy timeout.
UNAVAILABLE_SQLITE_MESSAGES = ("unable to open database file", "database is locked")
CHAIN_LIMIT = 16  # causes and contexts followed; cycles are possible


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database cannot be reached now."""
    return any(_says_unavailable(found) for found in _chain(error))


def _says_unavailable(error: BaseException) -> bool:
    return _connection_lost(error) or _server_refuses(error)


def _connection_lost(error: BaseException) -> bool:
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OSError) and str(error).startswith("Multiple exceptions"):
        return True  # asyncpg: every address of the host refused
    # The pool waited in vain, the driver lost its connection, or the server refused,
    # reset or did not answer the connection.
    return isinstance(
        error,
        sa.TimeoutError | sa.DisconnectionError | sa.InterfaceError | ConnectionError
        | TimeoutError,
    )  # fmt: skip


def _server_refuses(error: BaseException) -> bool:
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in UNAVAILABLE_SQLSTATES or sqlstate.startswith(
            UNAVAILABLE_SQLSTATE_CLASSES
        )
    if isinstance(error, sa.OperationalError):
        return str(error.orig).startswith(UNAVAILABLE_SQLITE_MESSAGES)
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending = [error]
    while pending and len(seen) < CHAIN_LIMIT:
        found = pending.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        yield found
        if isinstance(found, BaseExceptionGroup):
            pending.extend(found.exceptions)
        linked = (found.__cause__, found.__context__, getattr(found, "orig", None))
        pending.extend(e for e in linked if isinstance(e, BaseException))
