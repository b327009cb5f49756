"""Text for the validation report: numbers with intervals, suppressed counts, and inline SVG made safe.

Every function returns plain text (``"<5"``, ``"–"``); the Jinja2 templates escape it. The one
exception is :func:`svg_clean`, which returns the SVG markup of a figure with everything that could
run, load or collide removed, for the template to place as it is.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from validation.battery.disclosure import protect_or_withhold

DASH = "\u2013"


def is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def num(x: Any, digits: int = 3, sci: bool = True) -> str:
    """A number for the page: floats with ``digits`` decimals, integers with thousands separators;
    with ``sci``, a float too small for the decimals in scientific notation (else it rounds)."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not math.isfinite(x):
            return DASH
        if sci and digits >= 3 and x != 0 and abs(x) < 0.5 * 10 ** -digits:
            return f"{x:.1e}"
        return f"{x:.{digits}f}"
    return str(x)


def pval(p: Any) -> str:
    if not is_num(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def pct(x: Any, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%" if is_num(x) else DASH


def ci(d: Mapping | None, digits: int = 3) -> str:
    """`` [lower, upper]`` of an interval dict, or nothing."""
    if not isinstance(d, Mapping) or not (is_num(d.get("lower")) or is_num(d.get("upper"))):
        return ""
    return f" [{num(d.get('lower'), digits)}, {num(d.get('upper'), digits)}]"


def est(value: Any, interval: Mapping | None = None, digits: int = 3) -> str:
    return num(value, digits) + ci(interval, digits)


def suppressed(n: Any, k: int) -> bool:
    return is_num(n) and 0 < n < k


def count(n: Any, k: int) -> str:
    """A count of cases, shown as ``<k`` when 0 < n < k."""
    if n is None:
        return DASH
    if isinstance(n, str):
        return n
    if not is_num(n):
        return DASH
    n = int(round(n))
    return f"<{k}" if 0 < n < k else f"{n:,}"


def counts_with_total(cells: Mapping[str, Any], k: int) -> dict[str, str]:
    """Counts of the categories of one variable whose total is printed next to them, as text:
    primary and complementary suppression (:func:`validation.battery.disclosure.protect_line`);
    counts the metrics already hid are shown as they are; a breakdown that cannot be protected
    is empty (the metrics say ``withheld``)."""
    if "withheld" in cells:
        return {}
    if any(isinstance(n, str) for n in cells.values()):          # protected when the metrics were written
        return {key: count(n, k) for key, n in cells.items()}
    shown = protect_or_withhold({key: int(n) for key, n in cells.items() if is_num(n)}, k)
    if "withheld" in shown:
        return {}
    return {key: count(shown.get(key), k) for key in cells}


# names of the metrics' variables as a reader says them
HUMAN = {"risk_total": "risk total", "summary_risk": "summary risk judgement"}


def human(name: Any) -> str:
    """A variable's name for the page: ``risk_total`` -> ``risk total``; comparisons ``a vs b`` too."""
    text = str(name)
    for key, words in HUMAN.items():
        text = re.sub(rf"\b{key}\b", words, text)
    return text


VERDICT_CLASS = {"meets": "v-meets", "inconclusive": "v-inconclusive", "does not meet": "v-fails",
                 "no evidence beyond chance": "v-chance",
                 "filled": "v-meets", "beyond sampling error": "v-fails",
                 "fit for use": "v-meets", "not yet": "v-inconclusive", "not fit": "v-fails"}


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict (or checklist status, or change judgement) badge."""
    return VERDICT_CLASS.get(verdict, "v-na")


# ---------------------------------------------------------------------------------------------
# inline SVG: safe, with ids that cannot collide between figures

_DROP = [re.compile(p, re.S | re.I) for p in (
    r"<\?xml[^>]*\?>", r"<!DOCTYPE[^>]*>", r"<metadata\b.*?</metadata>", r"<script\b.*?</script\s*>",
    r"<script\b[^>]*/>", r"<foreignObject\b.*?</foreignObject\s*>", r"<!--.*?-->")]
_ON_ATTR = re.compile(r"\son[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", re.I)
_HREF = re.compile(r"\s((?:xlink:)?href)\s*=\s*(\"([^\"]*)\"|'([^']*)')", re.I)
_ID = re.compile(r"\bid=\"([^\"]+)\"")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")


def svg_clean(text: str | None, fid: str) -> str:
    """The SVG text for an inline figure: XML header, metadata, scripts, event handlers and any link
    that does not point inside the figure removed; ids prefixed with ``fid`` so figures sharing ids
    (matplotlib's fixed hash salt) do not clash; the figure's own style rules scoped to it."""
    if not text:
        return ""
    for pat in _DROP:
        text = pat.sub("", text)
    text = _ON_ATTR.sub("", text)

    def _href(m: re.Match) -> str:
        value = m.group(3) if m.group(3) is not None else m.group(4)
        if value.startswith("#"):
            return f' {m.group(1)}="#{fid}-{value[1:]}"'
        if _DATA_IMAGE.match(value):            # a raster embedded in the figure (matplotlib's imshow)
            return f' {m.group(1)}="{value}"'
        return ""

    text = _HREF.sub(_href, text)
    text = _ID.sub(lambda m: f'id="{fid}-{m.group(1)}"', text)
    text = re.sub(r"url\(\s*['\"]?(?!#)[^)]*\)", "none", text)          # nothing from outside the figure
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{fid}-{m.group(1)})", text)
    text = re.sub(r"(<style[^>]*>)\s*\*\s*\{", rf"\1#{fid} *{{", text)
    text = re.sub(r"@import[^;]*;", "", text)
    return text.strip()

