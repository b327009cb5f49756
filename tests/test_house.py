"""The package's structure: four layers, imports pointing downward only, no cycle, and DVC
dependencies that cover every file a stage runs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from validation.pipeline.imports import module_imports, package_modules, stage_files
from validation.pipeline.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "validation"
# a layer may import its own modules and those of the layers listed after it
LAYERS = {"stats": (), "battery": ("stats",), "report": ("stats", "battery"),
          "pipeline": ("stats", "battery", "report")}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "top"


def test_imports_point_downward_only():
    wrong = []
    for m in package_modules():
        lay = layer_of(m)
        if lay == "top":
            continue
        for d in module_imports(m):
            target = layer_of(d)
            if target != lay and target not in LAYERS[lay] and d != "validation":
                wrong.append(f"{m} ({lay}) imports {d} ({target})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    """No module reaches itself through its imports (a package importing its own submodules is
    not a cycle)."""
    def related(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")

    graph = {m: {d for d in module_imports(m) if not related(m, d)} for m in package_modules()}
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(d):] + [m, d]))
            if d not in state:
                visit(d, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_every_stage_lists_exactly_the_files_it_runs():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert set(spec) == set(STAGES)
    for name, stage in spec.items():
        assert stage["cmd"] == f"python -m validation.pipeline.stages {name}"
        listed = {d for d in stage["deps"] if isinstance(d, str) and d.startswith("src/")}
        runs = {f.relative_to(ROOT).as_posix() for f in stage_files(name)}
        missing, extra = sorted(runs - listed), sorted(listed - runs)
        assert not missing and not extra, (
            f"stage {name}: dvc.yaml deps must list the source files it runs.\n"
            f"add: {missing}\nremove: {extra}\n(run `python tests/dvc_deps.py` to rewrite the lists)")


def test_editing_a_module_flags_every_stage_that_runs_it():
    """Reverse view of the deps: each module is listed under every stage whose command reaches it,
    e.g. the rotation code under reliability (omega hierarchical) as well as structure."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    users = {}
    for name, stage in spec.items():
        for d in stage["deps"]:
            users.setdefault(d, set()).add(name)
    assert {"reliability", "structure"} <= users["src/validation/stats/_rotation.py"]
    assert {"reliability", "structure"} <= users["src/validation/stats/factor.py"]
    # read, not imported: by the stages that render a page (the report, the across-sites page of pool, the
    # trainees' feedback sheets of the training module, which training_oc imports for its simulation)
    assert users["src/validation/report/templates/report.html.j2"] == {"report", "pool", "training", "training_oc"}
    assert "report" in users["src/validation/battery/instruments.py"] or \
        "src/validation/battery/instruments.py" not in {f.relative_to(ROOT).as_posix() for f in stage_files("report")}


def test_stats_layer_reexports_its_public_functions():
    import validation.stats as stats
    from validation.stats.agreement import icc
    from validation.stats.predictive import roc_auc
    from validation.stats.reliability import cronbach_alpha
    assert stats.icc is icc and stats.roc_auc is roc_auc and stats.cronbach_alpha is cronbach_alpha
    for name in stats.__all__:
        assert callable(getattr(stats, name)) or isinstance(getattr(stats, name), type), name


def test_no_control_bytes_in_sources():
    bad = []
    for f in (ROOT / "src").rglob("*.py"):
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", line):
                bad.append(f"{f.relative_to(ROOT)}:{i}")
    assert not bad, bad


def test_the_report_writes_no_html_in_python():
    """The report's HTML lives in the Jinja2 templates (autoescaped): no module of the report layer
    builds markup or entities itself (the SVG cleaner in ``report/html.py`` only removes markup)."""
    markup = re.compile(r"""["'][^"'\n]*(<(p|b|a|td|th|tr|span|div|section|h[1-6]|li|ul|code|br)\b|&[a-z]+;)""")
    offenders = []
    for f in sorted((SRC / "report").rglob("*.py")):
        if f.name == "html.py":
            continue
        for i, text in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if markup.search(text) and not text.lstrip().startswith(("#", '"""')) and "``" not in text:
                offenders.append(f"{f.relative_to(SRC)}:{i}: {text.strip()[:80]}")
    assert offenders == []


def test_templates_are_autoescaped_and_strict():
    from validation.report.render import environment, render_text
    from validation.report.view import Run, line

    env = environment()
    assert env.autoescape is True or env.autoescape(None) is True
    assert render_text(line("a < b & c", Run("<i>", "b"))) == "a &lt; b &amp; c<b>&lt;i&gt;</b>"


def test_report_view_examples_run():
    import doctest

    from validation.report import view

    result = doctest.testmod(view)
    assert result.attempted >= 2 and result.failed == 0
