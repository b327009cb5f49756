"""HTML building blocks of the validation report: escaping, numbers with intervals, suppressed
counts, tables, inline figures and the style sheet (screen and print).

Everything returns HTML text; every value that comes from the metrics passes through :func:`esc`
or a number formatter, so no markup from the metrics reaches the page.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any, Iterable, Mapping

CSS = """
:root{--ok:#1a7f37;--mid:#9a6700;--bad:#cf222e;--na:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;max-width:1060px;
margin:1.5em auto;padding:0 1em;color:#1b1b1b;line-height:1.45;font-size:15px}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #2166ac;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em;font-size:1.08em}h4{margin:1em 0 .3em;font-size:1em}
a{color:#0b57a4}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em;max-width:100%}
th,td{border:1px solid var(--line);padding:.22em .5em;text-align:right;vertical-align:top}
th{background:#f0f4f8;font-weight:600}td.l,th.l{text-align:left}
thead{display:table-header-group}tr{break-inside:avoid;page-break-inside:avoid}
.wrap{overflow-x:auto;max-width:100%}
.muted{color:#57606a;font-size:.85em}.ne{color:#8a4b00;font-style:italic}
.method{background:#f6f8fa;border-left:3px solid #8c959f;padding:.35em .8em;font-size:.85em;margin:.6em 0}
.method ul{margin:.2em 0;padding-left:1.2em}
.figure{margin:1em 0;break-inside:avoid;page-break-inside:avoid}
.figure svg{max-width:100%;height:auto;display:block}
.warn{background:#fff8c5;border-left:4px solid #d4a72c;padding:.5em 1em;margin:.6em 0}
.alarm{background:#ffebe9;border:2px solid var(--bad);padding:.6em 1em;margin:.8em 0;font-weight:600}
.box{border:1px solid var(--line);border-radius:4px;padding:.4em 1em;margin:.8em 0}
.limits{border:2px solid #d4a72c;background:#fffdf2}
.limits li{margin:.25em 0}
.v{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.85em;font-weight:600;white-space:nowrap;
border:1px solid currentColor}
.v-meets{color:var(--ok)}.v-borderline{color:var(--mid)}.v-fails{color:var(--bad)}.v-na{color:var(--na)}
.tally{margin:.2em 0 .6em}
.toc{columns:2;font-size:.9em}.toc li{margin:.1em 0}
.version td{text-align:left;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.82em;
word-break:break-all}
.kv{font-size:.82em}.kv td{text-align:left}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
@page{size:A4;margin:14mm 12mm}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:10.5pt}
 a{color:inherit;text-decoration:none}
 h2{break-before:page;page-break-before:always}
 h2.first,#summary h2{break-before:auto;page-break-before:auto}
 h2,h3,h4{break-after:avoid;page-break-after:avoid}
 .wrap{overflow:visible}
 table{font-size:8.5pt;width:100%}
 th,td{word-break:normal;overflow-wrap:break-word;hyphens:none}
 .figure svg{max-height:235mm}
 .toc{display:none}
 .alarm,.warn,.limits,.v{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

DASH = "&ndash;"


def esc(x: Any) -> str:
    """Text for the page, escaped."""
    return html.escape(str(x), quote=True)


def is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def num(x: Any, digits: int = 3) -> str:
    """A number for the page: floats with ``digits`` decimals, integers with thousands separators."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not math.isfinite(x):
            return DASH
        if digits >= 3 and x != 0 and abs(x) < 0.5 * 10 ** -digits:
            return f"{x:.1e}"
        return f"{x:.{digits}f}"
    return esc(x)


def pval(p: Any) -> str:
    if not is_num(p):
        return DASH
    return "&lt; 0.001" if p < 0.001 else f"{p:.3f}"


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
        return esc(n)
    if not is_num(n):
        return DASH
    n = int(round(n))
    return f"&lt;{k}" if 0 < n < k else f"{n:,}"


def counts_with_total(cells: Mapping[str, Any], k: int) -> dict[str, str]:
    """Counts of the categories of one variable whose total is printed next to them.

    Primary suppression: every count 0 < n < k. Complementary suppression: when exactly one cell is
    suppressed, the total would give it away, so the smallest other non-zero cell is suppressed too
    (shown as ``*``).
    """
    out = {key: count(n, k) for key, n in cells.items()}
    small = [key for key, n in cells.items() if suppressed(n, k)]
    if len(small) == 1:
        others = sorted((int(n), str(key)) for key, n in cells.items()
                        if key not in small and is_num(n) and n > 0)
        if others:
            out[others[0][1]] = "*"
    return out


def not_estimable(d: Mapping | str) -> str:
    why = d.get("not_estimable") if isinstance(d, Mapping) else d
    why = re.sub(r"^(not estimable:\s*)+", "", str(why))
    return f'<span class="ne">not estimable: {esc(why)}</span>'


def table(header: Iterable[str], rows: Iterable[Iterable[str]], left: int = 1, cls: str = "",
          also_left: Iterable[int] = ()) -> str:
    """A table; cells are HTML already (escape before). The first ``left`` columns, and the columns
    in ``also_left`` (negative: from the end), align left; the others (numbers) align right."""
    header = list(header)
    n = len(header)
    lefts = set(range(left)) | {i % n for i in also_left} if n else set()
    th = "".join(f'<th{" class=l" if i in lefts else ""}>{h}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td{" class=l" if i in lefts else ""}>{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    c = f' class="{cls}"' if cls else ""
    return f'<div class="wrap"><table{c}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


VERDICT_CLASS = {"meets": "v-meets", "borderline": "v-borderline", "does not meet": "v-fails"}


def badge(verdict: str) -> str:
    return f'<span class="v {VERDICT_CLASS.get(verdict, "v-na")}">{esc(verdict)}</span>'


# ---------------------------------------------------------------------------------------------
# inline SVG: safe, with ids that cannot collide between figures

_DROP = [re.compile(p, re.S | re.I) for p in (
    r"<\?xml[^>]*\?>", r"<!DOCTYPE[^>]*>", r"<metadata\b.*?</metadata>", r"<script\b.*?</script\s*>",
    r"<script\b[^>]*/>", r"<foreignObject\b.*?</foreignObject\s*>", r"<!--.*?-->")]
_ON_ATTR = re.compile(r"\son[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", re.I)
_HREF = re.compile(r"\s((?:xlink:)?href)\s*=\s*(\"([^\"]*)\"|'([^']*)')", re.I)
_ID = re.compile(r"\bid=\"([^\"]+)\"")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")


def svg_inline(text: str | None, caption: str, fid: str) -> str:
    """The SVG text as an inline figure: XML header, metadata, scripts, event handlers and any link
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
    return (f'<figure class="figure" id="{fid}">{text.strip()}'
            f'<figcaption class="muted">{esc(caption)}</figcaption></figure>')

