"""The SQL lint of `make lint` (tools/lint_sql.py): statements belong in repositories."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lint_sql() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_sql", ROOT / "tools" / "lint_sql.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lint_sql"] = module  # dataclasses and typing look their module up by name
    spec.loader.exec_module(module)
    return module


def write(root: Path, relative: str, source: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


SELECT = "from sqlalchemy import select\n\n\nquery = select(1)\n"


def test_a_select_outside_a_repository_fails_with_its_file_line_and_reason(
    lint_sql: ModuleType, tmp_path: Path
) -> None:
    path = write(tmp_path, "widgets/service.py", SELECT)

    assert lint_sql.lint(tmp_path, allowlist={}) == [
        f"{path}:4: `select(...)` builds SQL outside a repository"
    ]


@pytest.mark.parametrize(
    "relative",
    ["widgets/repository.py", "widgets/repositories/parts.py", "db/statements.py",
     "migrations/versions/2026_01_01_0000_widgets.py"],
)  # fmt: skip
def test_a_select_in_a_repository_the_db_package_or_a_migration_passes(
    lint_sql: ModuleType, tmp_path: Path, relative: str
) -> None:
    write(tmp_path, relative, SELECT)

    assert lint_sql.lint(tmp_path, allowlist={}) == []


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy as sa\n\nsa.update(Table)\n",
        "from sqlalchemy.dialects.postgresql import insert\n\ninsert(Table)\n",
        "from sqlalchemy import text as sql\n\nsql('SELECT 1')\n",
        "from sqlalchemy import delete\n\ndelete(Table)\n",
        "async def f(session):\n    await session.execute('DELETE FROM widgets')\n",
        "async def f(session, t):\n    await session.execute(f'SELECT * FROM {t}')\n",
    ],
)
def test_every_way_of_building_a_statement_is_caught(
    lint_sql: ModuleType, tmp_path: Path, source: str
) -> None:
    write(tmp_path, "widgets/service.py", source)

    assert len(lint_sql.lint(tmp_path, allowlist={})) == 1


def test_names_not_taken_from_sqlalchemy_and_executing_built_statements_pass(
    lint_sql: ModuleType, tmp_path: Path
) -> None:
    source = (
        "def update(d):\n    return d\n\n\nupdate({})\n"
        "async def f(session, repository, query):\n"
        "    await session.execute(query)\n    await session.delete(repository.find())\n"
    )
    write(tmp_path, "widgets/service.py", source)

    assert lint_sql.lint(tmp_path, allowlist={}) == []


def test_text_in_a_table_definition_is_ddl_but_select_there_is_not(
    lint_sql: ModuleType, tmp_path: Path
) -> None:
    write(tmp_path, "models/widget.py", "from sqlalchemy import text\n\nwhere = text('a')\n")
    assert lint_sql.lint(tmp_path, allowlist={}) == []

    write(tmp_path, "models/widget.py", SELECT)
    assert len(lint_sql.lint(tmp_path, allowlist={})) == 1


def test_an_allowlisted_module_passes_until_it_is_clean_then_its_line_must_go(
    lint_sql: ModuleType, tmp_path: Path
) -> None:
    allowlist = {"widgets/service.py": "5 (CRUD kit)"}
    path = write(tmp_path, "widgets/service.py", SELECT)
    assert lint_sql.lint(tmp_path, allowlist=allowlist) == []

    path.write_text("query = None\n")
    [problem] = lint_sql.lint(tmp_path, allowlist=allowlist)
    assert problem.startswith(f"{path}:1: in the allowlist")
    assert "remove its line" in problem


def test_the_project_itself_passes(lint_sql: ModuleType) -> None:
    assert lint_sql.lint(ROOT / "src" / "upwatch") == []
