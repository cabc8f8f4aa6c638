"""Fail on SQL statements built outside repositories (house rule: queries only in repositories).

    python tools/lint_sql.py [ROOT]    # ROOT defaults to src/upwatch

Reported, as `file:line: reason`: a call of `select`, `insert`, `update`, `delete` or `text`
imported from `sqlalchemy` (or `sqlalchemy.sql`, `sqlalchemy.dialects.*`, ...), and an
`.execute(...)` or `.exec_driver_sql(...)` of a literal string. Allowed everywhere in a
repository (`*/repository.py`, `*/repositories/*.py`), the database package `db/` (with the
engine's hot-path statements, `db/statements.py`) and the migrations; `text(...)` also in the
table definitions of `models/`. A module of the
allowlist below still offends until the issue-15 item named beside it empties it; a listed
module that no longer offends (or no longer exists) is reported too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path, PurePosixPath

STATEMENTS = frozenset({"select", "insert", "update", "delete", "text"})
EXECUTE_METHODS = frozenset({"execute", "exec_driver_sql"})

# Module (relative to src/upwatch) -> the issue-15 item that moves its queries out.
ALLOWLIST: dict[str, str] = {
    "api/routes/alerts.py": "5 (CRUD kit: an alerts repository)",
    "api/routes/channels.py": "2 (channels as a registry)",
    "api/routes/osminog.py": "5 (CRUD kit: monitors repository)",
    "engine/changes.py": "4 (ingest contract: engine statements)",
    "engine/dispatcher.py": "2 (channels as a registry: dispatcher claims)",
    "engine/heartbeats/deadlines.py": "4 (ingest contract: heartbeat runtime)",
    "engine/heartbeats/pings.py": "4 (ingest contract: the ping writer)",
    "engine/ingest/writer.py": "4 (ingest contract: the result writer)",
    "engine/maintenance.py": "4 (ingest contract: engine statements)",
    "engine/retention.py": "4 (ingest contract: engine statements)",
    "idempotency/store.py": "5 (CRUD kit: idempotency repository)",
    "incidents/auto.py": "1 (subjects: incidents of any subject)",
    "monitors/stats.py": "5 (CRUD kit: monitors repository)",
    "notify/alerting.py": "2 (alerting rules in their own package)",
    "notify/channels.py": "2 (channels as a registry)",
    "notify/deliveries.py": "2 (channels as a registry)",
    "notify/followups.py": "2 (alerting rules in their own package)",
    "notify/secrets.py": "2 (channels as a registry: webhook secrets)",
    "notify/subscriptions.py": "2 (channels as a registry: webhook subscriptions)",
}


def _from_sqlalchemy(module: str | None) -> bool:
    return module is not None and (module == "sqlalchemy" or module.startswith("sqlalchemy."))


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # local name -> statement function it is bound to
        self.modules: set[str] = set()  # local names of imported sqlalchemy modules
        self.found: list[tuple[int, str, str]] = []  # line, statement, reason

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if _from_sqlalchemy(node.module):
            for alias in node.names:
                local = alias.asname or alias.name
                if alias.name in STATEMENTS:
                    self.names[local] = alias.name
                else:  # `from sqlalchemy import sql`, `from sqlalchemy.dialects import sqlite`
                    self.modules.add(local)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _from_sqlalchemy(alias.name):
                self.modules.add(alias.asname or alias.name.split(".")[0])

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if isinstance(function, ast.Name) and function.id in self.names:
            statement = self.names[function.id]
            self.found.append((node.lineno, statement, f"`{statement}(...)` builds SQL"))
        elif isinstance(function, ast.Attribute):
            if function.attr in STATEMENTS and _root(function.value) in self.modules:
                reason = f"`{ast.unparse(function)}(...)` builds SQL"
                self.found.append((node.lineno, function.attr, reason))
            elif function.attr in EXECUTE_METHODS and node.args and _is_string(node.args[0]):
                reason = f"`.{function.attr}` of a literal SQL string"
                self.found.append((node.lineno, function.attr, reason))
        self.generic_visit(node)


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_string(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def offences_in(source: str, *, table_definitions: bool = False) -> list[tuple[int, str]]:
    """(line, reason) of each SQL statement `source` builds. In `table_definitions` (models/)
    `text(...)` is a DDL fragment (an index predicate, a server default), not a statement."""
    finder = _Finder()
    finder.visit(ast.parse(source))
    ddl = {"text"} if table_definitions else set()
    return sorted(
        (line, reason) for line, statement, reason in finder.found if statement not in ddl
    )


def is_allowed_place(relative: PurePosixPath) -> bool:
    """Where SQL belongs; `relative` is a module's path from the package root."""
    return (
        relative.name == "repository.py"
        or relative.parent.name == "repositories"
        or relative.parts[0] in {"db", "migrations"}
    )


def lint(root: Path, allowlist: dict[str, str] = ALLOWLIST) -> list[str]:
    problems: list[str] = []
    offending: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        if is_allowed_place(relative):
            continue
        source = path.read_text(encoding="utf-8")
        found = offences_in(source, table_definitions=relative.parts[0] == "models")
        if not found:
            continue
        offending.add(str(relative))
        if str(relative) not in allowlist:
            problems.extend(
                f"{path}:{line}: {reason} outside a repository" for line, reason in found
            )
    for module in sorted(set(allowlist) - offending):
        problems.append(
            f"{root / module}:1: in the allowlist of tools/lint_sql.py but builds no SQL (or is "
            "gone): remove its line"
        )
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("src/upwatch")
    problems = lint(root)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
