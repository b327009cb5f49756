"""The examples in the docstrings of the statistics layer run, and every public estimator has one.

* One test per module under ``validation.stats`` runs its doctests (``>>>`` lines with their exact
  printed output) and fails with the doctest report.
* For every public module (no ``_`` in its dotted name), every function listed in its ``__all__``
  and defined there must have a numpy-style ``Examples`` section holding at least one example that
  is not skipped -- a new estimator without one fails here.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

import pytest

import validation.stats

PACKAGE = validation.stats.__name__
MODULES = [PACKAGE] + sorted(
    info.name for info in pkgutil.walk_packages(validation.stats.__path__, prefix=PACKAGE + ".")
)

# Public functions that are not estimators and live outside the modules given examples so far:
# module -> function names. Remove an entry once its docstring has an Examples section.
NO_EXAMPLES_YET = {f"{PACKAGE}.results": {"to_dict"}}

_SECTION = re.compile(r"^[ \t]*([A-Za-z][A-Za-z ]*)\n[ \t]*-{3,}[ \t]*$", re.MULTILINE)


def _is_public(module_name: str) -> bool:
    return not any(part.startswith("_") for part in module_name.split("."))


def _public_functions(module) -> list[str]:
    """Names in ``__all__`` that are functions defined in ``module`` (not classes, not re-exports)."""
    out = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            out.append(name)
    return out


def _examples_section(doc: str) -> str | None:
    """The text of the numpy-style ``Examples`` section of a docstring (up to the next section)."""
    doc = inspect.cleandoc(doc)
    heads = list(_SECTION.finditer(doc))
    for i, m in enumerate(heads):
        if m.group(1).strip() == "Examples":
            end = heads[i + 1].start() if i + 1 < len(heads) else len(doc)
            return doc[m.end():end]
    return None


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(module_name):
    module = importlib.import_module(module_name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
    report: list[str] = []
    runner = doctest.DocTestRunner(verbose=False)
    for test in sorted(tests, key=lambda t: t.name):
        runner.run(test, out=report.append)
    if runner.failures:
        pytest.fail(
            f"{runner.failures} of {runner.tries} doctest example(s) failed in {module_name}:\n" + "".join(report),
            pytrace=False,
        )


@pytest.mark.parametrize("module_name", [m for m in MODULES if _is_public(m)])
def test_public_functions_have_examples(module_name):
    module = importlib.import_module(module_name)
    exempt = NO_EXAMPLES_YET.get(module_name, set())
    missing = []
    for name in _public_functions(module):
        if name in exempt:
            continue
        section = _examples_section(getattr(module, name).__doc__ or "")
        examples = doctest.DocTestParser().get_examples(section) if section is not None else []
        if not any(not ex.options.get(doctest.SKIP, False) for ex in examples):
            missing.append(name)
    assert not missing, (
        f"{module_name}: public function(s) without a runnable doctest in an 'Examples' section: "
        f"{', '.join(missing)}. Add a short numpy-style Examples section (a tiny data set, the call and "
        "the key figures, rounded)."
    )


def test_exemptions_are_current():
    """Every exempted name exists and still lacks examples, so the list cannot go stale silently."""
    for module_name, names in NO_EXAMPLES_YET.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert name in _public_functions(module), f"{module_name}.{name} is not a public function"
            assert _examples_section(getattr(module, name).__doc__ or "") is None, (
                f"{module_name}.{name} has an Examples section now: remove it from NO_EXAMPLES_YET"
            )


def test_the_check_sees_estimators():
    """The Examples check covers the estimator modules (guards against an empty parametrization)."""
    checked = {m: _public_functions(importlib.import_module(m)) for m in MODULES if _is_public(m)}
    assert "cronbach_alpha" in checked[f"{PACKAGE}.reliability"]
    assert "invariance" in checked[f"{PACKAGE}.cfa"]
    assert sum(map(len, checked.values())) >= 39
