"""Messages from templates: a subject and a plain, a markdown and an HTML body per alert.

Templates are Jinja2, rendered in a sandbox (an operator's template cannot reach Python
internals) with autoescaping for HTML only. The defaults ship in `templates/`; an operator
overrides any of them by putting a file of the same name in `UPWATCH_TEMPLATES_DIR`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

FORMATS = ("subject.txt", "body.txt", "body.md", "body.html")


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    markdown: str
    html: str


class Renderer:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = []
        if override_dir is not None:
            loaders.append(FileSystemLoader(str(override_dir)))
        loaders.append(PackageLoader("upwatch.channels", "templates"))
        self._plain = SandboxedEnvironment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False
        )
        self._html = SandboxedEnvironment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=True
        )

    def render(self, context: dict[str, Any]) -> Message:
        """The message for one alert payload (see `alerting.payload`)."""
        subject = self._plain.get_template("subject.txt").render(context)
        return Message(
            subject=" ".join(subject.split())[:250],
            text=self._plain.get_template("body.txt").render(context).strip(),
            markdown=self._plain.get_template("body.md").render(context).strip(),
            html=self._html.get_template("body.html").render(context).strip(),
        )
