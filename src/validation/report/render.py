"""Render the report's view (:mod:`validation.report.view`) with the Jinja2 templates in
``templates/``: autoescaped, strict about undefined names, no trailing whitespace to vary."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import jinja2

from validation.report import html as H
from validation.report.view import Line, Section

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["verdict_class"] = H.verdict_class
    return env


def render_page(title: str, intro: Line, alarm: Line | None, toc: Sequence[tuple[str, str]],
                sections: Sequence[Section | tuple[Section, ...]]) -> str:
    """The HTML document: header, the synthetic-data alarm if any, contents, then the sections (a
    tuple of sections is laid out side by side on a wide screen)."""
    return environment().get_template("report.html.j2").render(
        title=title, intro=intro, alarm=alarm, toc=toc, sections=sections)


def render_section(s: Section) -> str:
    """One section alone (for tests and previews)."""
    return environment().from_string('{% from "macros.html.j2" import section %}{{ section(s) }}').render(s=s)


def render_text(runs: Any) -> str:
    return environment().from_string('{% from "macros.html.j2" import text %}{{ text(r) }}').render(r=runs)
