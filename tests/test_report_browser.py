"""The HTML report in a real browser: headless Chromium (the system's, driven by Playwright) opens
the report that the pipeline writes in a temporary copy of the project (the end-to-end test's
``project`` fixture: small synthetic parameters) and checks that it is self-contained and readable --
no console error, no request but the file itself, every figure drawn, the executive summary and a
title present, no case or rater key anywhere, printable to PDF; a full-page screenshot is saved.

Skipped, with the reason, where Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) or the Python
package ``playwright`` is missing. The browser is never downloaded: ``.ci/run`` installs Debian's
``chromium`` package."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                          else shutil.which("chromium"))
if not CHROMIUM or not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found ({CHROMIUM or '/usr/bin/chromium, $CHROMIUM unset, none on PATH'}): "
                "install Debian's `chromium` package to run the browser test", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the Python package playwright is not installed (dev dependency)")

pytestmark = pytest.mark.slow

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
REPORT = "reports/validation_report.html"


@dataclass
class Loaded:
    """The report opened in a page, with what the page did while loading."""
    page: object
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, path: Path) -> tuple[object, Loaded]:
    """Open ``path`` in a new context, recording console errors, page errors, every request and websocket.
    Returns the context (close it) and the record."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    out = Loaded(page=page, url=path.resolve().as_uri())

    def on_console(msg):
        if msg.type == "error":
            out.console_errors.append(f"{msg.text} ({msg.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: out.page_errors.append(str(exc)))
    context.on("request", lambda req: out.requests.append(req.url))
    page.on("websocket", lambda ws: out.websockets.append(ws.url))
    # nothing leaves the machine even if the page asks for it (the request is still recorded)
    context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: route.abort())
    page.goto(out.url, wait_until="load", timeout=60_000)
    page.wait_for_load_state("networkidle", timeout=30_000)
    return context, out


def request_problems(loaded: Loaded) -> list[str]:
    """Requests other than the page's own file (``data:`` URIs are part of the file)."""
    remote = [u for u in loaded.requests if re.match(r"^(https?|wss?|ftp)://", u, re.I)]
    others = [u for u in loaded.requests
              if u.split("#")[0] != loaded.url and not u.startswith(("data:", "about:")) and u not in remote]
    return ([f"network: {u}" for u in remote] + [f"websocket: {u}" for u in loaded.websockets]
            + [f"other file: {u}" for u in others])


def figure_problems(page) -> tuple[int, list[dict]]:
    """The number of top-level inline SVGs, and the SVGs and <img> not rendered: an SVG with a zero
    box or no drawn content, an image not loaded or of zero natural width. Opens every <details>
    first (folded content is not laid out)."""
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    svgs = page.evaluate("""() => [...document.querySelectorAll('svg')]
        .filter(s => !s.parentElement || !s.parentElement.closest('svg'))
        .map((s, i) => {
            const r = s.getBoundingClientRect();
            let bw = 0, bh = 0;
            try { const b = s.getBBox(); bw = b.width; bh = b.height; } catch (e) {}
            const t = s.querySelector('title');
            return {svg: i, w: r.width, h: r.height, bw, bh, label: (t && t.textContent) || s.id || ''};
        })""")
    images = page.evaluate("""async () => {
        const imgs = [...document.images];
        await Promise.all(imgs.map(im => im.decode().catch(() => null)));
        return imgs.map(im => ({img: im.src.slice(0, 80), complete: im.complete, w: im.naturalWidth}));
    }""")
    bad = [s for s in svgs if not (s["w"] > 0 and s["h"] > 0 and s["bw"] > 0 and s["bh"] > 0)]
    bad += [im for im in images if not (im["complete"] and im["w"] > 0)]
    return len(svgs), bad


def keys_found(keys: set[str], documents: dict[str, str]) -> dict[str, list[str]]:
    """Which keys occur, as whole tokens (not inside a longer run of letters and digits), in which document."""
    pat = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
                     + r")(?![A-Za-z0-9])")
    found: dict[str, list[str]] = {}
    for name, doc in documents.items():
        for key in set(pat.findall(doc)):
            found.setdefault(key, []).append(name)
    return found


def summary_problem(page) -> str | None:
    """Why the page has no visible, non-empty executive summary (an element with id ``summary`` or a
    heading containing "summary"), or None."""
    by_id = page.locator("#summary")
    headings = page.locator("h1, h2, h3, h4, [role=heading]").filter(has_text=re.compile("summary", re.I))
    if not by_id.count() and not headings.count():
        return "no executive summary: neither an element with id 'summary' nor a heading containing 'summary'"
    target = by_id.first if by_id.count() else headings.first
    if not target.is_visible():
        return "the executive summary is not visible"
    # a heading: its section (or parent) must say more than the heading; any other element: anything
    empty = target.evaluate("""el => {
        const own = el.innerText.trim();
        if (!/^H[1-6]$/.test(el.tagName) && el.getAttribute('role') !== 'heading') return own.length === 0;
        const box = el.closest('section') || el.parentElement || el;
        return box.innerText.trim().length <= own.length;
    }""")
    if empty:
        return "the executive summary is empty"
    return None


@pytest.fixture(scope="module")
def loaded(browser, project: Path):
    path = project / REPORT
    assert path.is_file(), f"the pipeline did not write {REPORT}"
    context, out = open_page(browser, path)
    try:
        yield out
    finally:
        context.close()


def _keys(project: Path) -> set[str]:
    import pandas as pd
    cases = pd.read_parquet(project / "data/clean/cases.parquet", columns=["case_id"])["case_id"]
    raters = pd.read_parquet(project / "data/clean/vera_ratings.parquet", columns=["rater_id"])["rater_id"]
    keys = {str(k) for k in pd.concat([cases.dropna(), raters.dropna()]).unique()}
    assert keys, "no keys read from the clean tables"
    return keys


def test_title_and_executive_summary(loaded: Loaded):
    title = loaded.page.title().strip()
    assert title, "the page has no <title>"
    assert re.search(r"report", title, re.I), f"unexpected page title {title!r}"
    problem = summary_problem(loaded.page)
    assert problem is None, problem


def test_no_console_errors(loaded: Loaded):
    assert not loaded.page_errors, f"uncaught page errors: {loaded.page_errors}"
    assert not loaded.console_errors, f"console errors: {loaded.console_errors}"


def test_no_request_but_the_file_itself(loaded: Loaded):
    assert loaded.requests, "no request recorded (the listener did not see the report load)"
    problems = request_problems(loaded)
    assert not problems, f"the report is not self-contained: {problems}"


def test_every_figure_rendered(loaded: Loaded):
    n_svg, bad = figure_problems(loaded.page)
    assert n_svg, "the report holds no inline SVG figure"
    assert not bad, f"figures not rendered (zero box, no drawn content, or image not loaded): {bad}"


def test_no_case_or_rater_key(loaded: Loaded, project: Path):
    docs = {"page text": loaded.page.evaluate("document.body.innerText"), "DOM": loaded.page.content(),
            "HTML file": (project / REPORT).read_text(encoding="utf-8")}
    found = keys_found(_keys(project), docs)
    assert not found, f"case / rater keys in the report: {dict(list(found.items())[:10])}"


def test_prints_to_pdf(loaded: Loaded, tmp_path: Path):
    pdf = loaded.page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-"), "page.pdf() did not return a PDF"
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert pages > 0, "the PDF has no page"
    out = tmp_path / "validation_report.pdf"
    out.write_bytes(pdf)
    print(f"\nPDF: {out} ({pages} pages, {len(pdf) // 1024} KiB)")
    # every printed page carries its number (CSS page margin boxes), and the contents print too
    from pypdf import PdfReader
    reader = PdfReader(out)
    n = len(reader.pages)
    texts = [page.extract_text() or "" for page in reader.pages]
    for i, text in enumerate(texts, 1):
        assert f"Page {i} of {n}" in " ".join(text.split()), f"page {i} has no page number"
    first = " ".join(texts[0].split())
    assert "Bottom line" in first and "Predictive validity" in first and "Version" in first   # the contents print
    # no half-empty page: the text of every page but the last reaches below its middle -- except where a figure
    # taller than half a page (never split) had to start on the next one: at most one such page a tall figure
    fill = [_text_extent(page) for page in reader.pages]
    sparse = [i + 1 for i, f in enumerate(fill[:-1]) if f < 0.5]
    tall = _tall_figures(loaded.page)
    assert len(sparse) <= tall, (f"pages under half full: {sparse} ({[round(fill[i - 1], 2) for i in sparse]}), "
                                 f"more than the {tall} figure(s) taller than half a page")


def _tall_figures(page) -> int:
    """Figures taller than half the printable height when printed (A4, 190 mm of text width; the print style
    caps a figure at 235 mm)."""
    page.emulate_media(media="print")
    size = page.viewport_size
    page.set_viewport_size({"width": 718, "height": 1000})          # 190 mm at 96 px an inch
    try:
        return int(page.evaluate("""() => [...document.querySelectorAll('.figure svg')]
            .filter(s => s.getBoundingClientRect().height > 0.5 * 235 * 96 / 25.4).length"""))
    finally:
        page.emulate_media(media="screen")
        if size:
            page.set_viewport_size(size)


def _text_extent(page) -> float:
    """The share of the page's height down to its lowest line of body text (the footer left aside)."""
    height = float(page.mediabox.height)
    ys: list[float] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            ys.append(tm[5] * cm[3] + cm[5])

    page.extract_text(visitor_text=visit)
    body = [y for y in ys if 40 < y < height - 40]  # the page-number margin boxes sit within 40 pt of the edges
    return (height - min(body)) / height if body else 0.0


def test_full_page_screenshot(loaded: Loaded, tmp_path: Path):
    out = tmp_path / "validation_report.png"
    png = loaded.page.screenshot(path=str(out), full_page=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and out.stat().st_size > 0
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 0 and height > 900, f"screenshot of {width} x {height} px: the page looks empty"
    print(f"\nscreenshot: {out} ({width} x {height} px)")


def test_the_checks_catch_what_they_look_for(browser, tmp_path: Path):
    """The checks above are not vacuous: a page with a remote image, a script error, an empty SVG
    and a key in its text fails each of them."""
    page_file = tmp_path / "bad.html"
    page_file.write_text(
        "<!doctype html><html><head><title>bad</title></head><body><p>case C00017 rated by S1-R2</p>"
        '<svg width="0" height="0"></svg><svg width="50" height="50"><rect width="40" height="40"/></svg>'
        '<img src="https://example.invalid/x.png"><img src="missing.png">'
        "<script>console.error('boom'); undefinedFunction();</script></body></html>", encoding="utf-8")
    context, out = open_page(browser, page_file)
    try:
        assert any("boom" in e for e in out.console_errors)
        assert any("undefinedFunction" in e for e in out.page_errors)
        problems = request_problems(out)
        assert any("example.invalid" in p for p in problems) and any("missing.png" in p for p in problems)
        n_svg, bad = figure_problems(out.page)
        assert n_svg == 2 and sum("svg" in b for b in bad) == 1 and sum("img" in b for b in bad) == 2
        text = out.page.evaluate("document.body.innerText")
        assert keys_found({"C00017", "S1-R2", "C0001", "S1-R"}, {"text": text}) == {"C00017": ["text"],
                                                                                     "S1-R2": ["text"]}
        assert summary_problem(out.page).startswith("no executive summary")
    finally:
        context.close()
    for body in ("<section><h2>Executive Summary</h2><p>Three findings.</p></section>",
                 '<div id="summary"><p>Three findings.</p></div>'):
        page_file.write_text(f"<!doctype html><html><body>{body}</body></html>", encoding="utf-8")
        context, out = open_page(browser, page_file)
        try:
            assert summary_problem(out.page) is None, body
        finally:
            context.close()


def test_the_across_sites_page_renders(browser, project: Path, tmp_path: Path):
    """The page of pooled site bundles: opens without error or request, every forest plot drawn, no key."""
    from validation.pipeline.bundle import make_bundle, pool_bundles, split_by_site
    from validation.pipeline.config import load_config
    from validation.report.across_sites import across_sites_page

    config = load_config(project)
    bundles = []
    for folder in split_by_site(project / "data" / "synthetic", tmp_path / "sites"):
        make_bundle(folder, tmp_path / "bundles" / folder.name, project, config)
        bundles.append(tmp_path / "bundles" / folder.name)
    pooled = pool_bundles(bundles)
    page_path = tmp_path / "across_sites.html"
    page_path.write_text(across_sites_page(pooled), encoding="utf-8")
    context, out = open_page(browser, page_path)
    try:
        assert not out.page_errors and not out.console_errors, (out.page_errors, out.console_errors)
        assert not request_problems(out)
        n_svg, bad = figure_problems(out.page)
        assert n_svg == sum(1 for r in pooled["key_figures"] if r.get("site_estimates")) and not bad, bad
        assert "Across sites" in out.page.title() + out.page.evaluate("document.body.innerText")
        found = keys_found(_keys(project), {"HTML file": page_path.read_text(encoding="utf-8")})
        assert not found, found
    finally:
        context.close()
