"""The documentation keeps up with the code: every setting and every error code is listed."""

from __future__ import annotations

from pathlib import Path

from upwatch.core.errors import CATALOG, ErrorCode
from upwatch.settings import settings_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_configuration_page_lists_every_setting_as_generated() -> None:
    page = (DOCS / "configuration.md").read_text()
    assert settings_reference() in page, "run `upwatch config docs` and paste it in"


def test_the_api_page_lists_every_error_code_with_its_status() -> None:
    page = (DOCS / "api.md").read_text()
    for code in ErrorCode:
        assert f"| `{code}` | {int(CATALOG[code].status)} |" in page, code


def test_every_error_code_is_exercised_by_some_test() -> None:
    """The catalog promises each code is real: some test must meet it."""
    tests = Path(__file__).resolve().parent
    sources = "\n".join(
        path.read_text() for path in tests.rglob("test_*.py") if path.name != Path(__file__).name
    )
    unexercised = [str(code) for code in ErrorCode if f'"{code}"' not in sources]
    assert unexercised == []
