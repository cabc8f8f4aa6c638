"""Create or drop a scratch PostgreSQL database next to UPWATCH_TEST_DATABASE_URL's.

python tools/pg_scratch.py create NAME   # prints the new database's URL
python tools/pg_scratch.py drop NAME
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
from sqlalchemy.engine import make_url


def admin_dsn() -> str:
    url = make_url(os.environ["UPWATCH_TEST_DATABASE_URL"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def recreate(name: str, *, create: bool) -> None:
    connection = await asyncpg.connect(admin_dsn())
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def main() -> None:
    action, name = sys.argv[1], sys.argv[2]
    asyncio.run(recreate(name, create=action == "create"))
    if action == "create":
        url = make_url(os.environ["UPWATCH_TEST_DATABASE_URL"]).set(database=name)
        print(url.render_as_string(hide_password=False))


if __name__ == "__main__":
    main()
