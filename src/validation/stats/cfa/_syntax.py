"""Model syntax and parameter table of :mod:`validation.cfa`.

The syntax is the ``lavaan`` model syntax restricted to measurement models (Rosseel, 2012):

* ``F =~ x1 + x2 + x3``  -- factor ``F`` measured by observed ``x1..x3``;
* ``x1 ~~ x2``           -- a (residual) covariance, ``x1 ~~ x1`` a (residual) variance,
  ``F1 ~~ F2`` a factor covariance;
* ``x1 ~ 1``             -- an intercept (``F ~ 1`` a latent mean);
* modifiers before a term: a number fixes the parameter (``1*x1``, ``0*F2``), ``NA`` frees it,
  a name labels it (parameters sharing a label are equal), ``c(...)`` gives one modifier per
  group, ``start(v)`` is accepted and ignored;
* ``#`` and ``!`` start comments; ``;`` or a new line ends a formula, and a line without an
  operator continues the formula above it.

:func:`parameter_table` turns the parsed formulas into the full parameter table that the
estimator needs, with the defaults of ``lavaan::cfa``: the first loading of each factor fixed to
1 (or, with ``std_lv``, factor variances fixed to 1), free residual variances, free covariances
between factors, free intercepts and zero latent means when there is a mean structure, and the
equality constraints of ``group.equal`` / ``group.partial`` across groups.
"""

from __future__ import annotations

import dataclasses
import math
import re

__all__ = ["Formula", "Modifier", "Row", "Table", "parse_model", "parameter_table", "EQUAL_CHOICES"]

EQUAL_CHOICES = (
    "loadings",
    "thresholds",
    "intercepts",
    "means",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
)

_NAME = re.compile(r"^[A-Za-z.][A-Za-z0-9._]*$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_OPERATORS = ("=~", "~~", "~")
_UNSUPPORTED = ("<~", "~*~", "==", ":=", "<", ">", "|", "%", ":")

# matrices of the measurement model
LAMBDA, THETA, PSI, NU, ALPHA = 0, 1, 2, 3, 4


@dataclasses.dataclass
class Modifier:
    """Modifiers of one term: per-group lists (length 1 = all groups) of fixed values
    (``nan`` = explicitly free), labels and start values."""

    fixed: list[float] | None = None
    label: list[str] | None = None
    start: list[float] | None = None

    def merge(self, other: Modifier) -> None:
        for f in ("fixed", "label", "start"):
            v = getattr(other, f)
            if v is not None:
                setattr(self, f, v)


@dataclasses.dataclass
class Formula:
    lhs: str
    op: str  # "=~", "~~", "~1"
    rhs: str  # "" for "~1"
    mod: Modifier
    line: str


@dataclasses.dataclass
class Row:
    """One row of the parameter table (one parameter of one group)."""

    id: int
    lhs: str
    op: str
    rhs: str
    group: int  # 0-based
    user: bool  # written in the model syntax
    free: bool
    value: float  # fixed value, or start value (nan = automatic)
    label: str  # user label
    eq_label: str = ""  # lavaan-style label used for equality constraints
    mat: int = -1
    r: int = 0
    c: int = 0
    pid: int = -1  # index of the free parameter (shared by equal parameters)

    @property
    def key(self) -> str:
        return f"{self.lhs}{self.op}{self.rhs}"

    @property
    def plabel(self) -> str:
        return f".p{self.id}."


@dataclasses.dataclass
class Table:
    rows: list[Row]
    ov: list[str]
    lv: list[str]
    ngroups: int
    meanstructure: bool
    npar: int

    def free_rows(self) -> list[Row]:
        return [r for r in self.rows if r.free]


# --------------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------------


def _split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _modifier_value(tok: str, line: str) -> tuple[str, list]:
    """One modifier token -> (kind, per-group values)."""

    def scalar(t: str) -> tuple[str, object]:
        t = t.strip()
        if t == "NA":
            return "fixed", math.nan
        if _NUMBER.match(t):
            return "fixed", float(t)
        m = re.match(r'^["\'](.*)["\']$', t)
        if m:
            return "label", m.group(1)
        if _NAME.match(t):
            return "label", t
        raise ValueError(f"model syntax: cannot read the modifier {t!r} in {line!r}")

    m = re.match(r"^(c|start|label|equal)\((.*)\)$", tok)
    if m:
        fn, inner = m.group(1), m.group(2)
        parts = [p for p in _split_top(inner, ",")]
        if fn == "c":
            vals = [scalar(p) for p in parts]
            kinds = {k for k, _ in vals}
            if kinds == {"fixed"}:
                return "fixed", [v for _, v in vals]
            if kinds == {"label"}:
                return "label", [v for _, v in vals]
            # a mix of NA and labels: labels where given, NA frees
            if kinds <= {"fixed", "label"} and all(
                (k == "label") or (isinstance(v, float) and math.isnan(v)) for k, v in vals
            ):
                return "label", [v if k == "label" else "" for k, v in vals]
            raise ValueError(f"model syntax: c(...) mixes fixed values and labels in {line!r}")
        if fn == "start":
            vals = [scalar(p) for p in parts]
            if any(k != "fixed" for k, _ in vals):
                raise ValueError(f"model syntax: start() takes numbers, in {line!r}")
            return "start", [v for _, v in vals]
        # label("a") / equal("a")
        vals = [scalar(p) for p in parts]
        return "label", [str(v) for _, v in vals]
    k, v = scalar(tok)
    return k, [v]


def _parse_term(term: str, line: str) -> tuple[str, Modifier]:
    parts = _split_top(term, "*")
    name = parts[-1]
    mod = Modifier()
    for tok in parts[:-1]:
        if tok == "":
            raise ValueError(f"model syntax: empty modifier in {line!r}")
        kind, vals = _modifier_value(tok, line)
        setattr(mod, kind, vals)
    return name, mod


def parse_model(model: str) -> list[Formula]:
    """Parse lavaan-style model syntax into formulas (one per lhs/op/rhs)."""
    if not isinstance(model, str):
        raise TypeError(f"model: expected a string in lavaan syntax, got {type(model).__name__}")
    text = re.sub(r"[#!][^\n]*", "", model)
    text = text.replace(";", "\n")
    text = re.sub(r"[ \t\r]+", "", text)
    lines = [ln for ln in text.split("\n") if ln]
    if not lines:
        raise ValueError("model: the model syntax is empty")

    def has_op(s: str) -> bool:
        return any(ch in s for ch in "~<>=|%:")

    statements: list[str] = []
    for ln in lines:
        if has_op(ln) and not ln.startswith("+"):
            statements.append(ln)
        elif statements:
            statements[-1] += ln
        else:
            raise ValueError(f"model syntax: no operator found in {ln!r}")

    out: list[Formula] = []
    seen: dict[tuple[str, str, str], Formula] = {}
    for st in statements:
        for bad in ("<~", "~*~", ":=", "=="):
            if bad in st:
                raise ValueError(f"model syntax: the operator {bad!r} is not supported (in {st!r}); "
                                 "measurement models use =~, ~~ and ~ 1")
        if "=~" in st:
            op = "=~"
        elif "~~" in st:
            op = "~~"
        elif "~" in st:
            op = "~"
        else:
            raise ValueError(f"model syntax: no supported operator (=~, ~~, ~ 1) in {st!r}")
        lhs_s, rhs_s = st.split(op, 1)
        if rhs_s.startswith("+"):
            rhs_s = rhs_s[1:]
        if not lhs_s or not rhs_s:
            raise ValueError(f"model syntax: {st!r} needs a left- and a right-hand side")
        lhs_names = [x for x in lhs_s.split("+")]
        for nm in lhs_names:
            if not _NAME.match(nm):
                raise ValueError(f"model syntax: {nm!r} is not a valid variable name (in {st!r})")
        terms = [t for t in _split_top(rhs_s, "+")]
        if any(t == "" for t in terms):
            raise ValueError(f"model syntax: empty term in {st!r}")
        parsed = [_parse_term(t, st) for t in terms]
        for lhs in lhs_names:
            for name, mod in parsed:
                if op == "~":
                    if name != "1":
                        raise ValueError(
                            f"model syntax: regressions ({st!r}) are not part of a measurement model; "
                            "only intercepts ('x ~ 1') may use '~'"
                        )
                    fop, rhs = "~1", ""
                else:
                    if not _NAME.match(name) or name == "NA":
                        raise ValueError(f"model syntax: {name!r} is not a valid variable name (in {st!r})")
                    fop, rhs = op, name
                    if op == "=~" and rhs == lhs:
                        raise ValueError(f"model syntax: factor {lhs!r} cannot be measured by itself")
                key = (lhs, fop, rhs)
                rkey = (rhs, fop, lhs) if fop == "~~" else key
                if key in seen or rkey in seen:
                    seen[key if key in seen else rkey].mod.merge(mod)
                    continue
                f = Formula(lhs, fop, rhs, dataclasses.replace(mod), st)
                seen[key] = f
                out.append(f)
    return out


# --------------------------------------------------------------------------------------------------
# parameter table
# --------------------------------------------------------------------------------------------------


def _names(formulas: list[Formula]) -> tuple[list[str], list[str]]:
    lv: list[str] = []
    for f in formulas:
        if f.op == "=~" and f.lhs not in lv:
            lv.append(f.lhs)
    ind = []
    for f in formulas:
        if f.op == "=~" and f.rhs not in lv and f.rhs not in ind:
            ind.append(f.rhs)
    extra = [f.lhs for f in formulas if f.op == "~~" and f.lhs not in lv]
    extra += [f.rhs for f in formulas if f.op == "~~" and f.rhs not in lv]
    extra += [f.lhs for f in formulas if f.op == "~1" and f.lhs not in lv]
    ov = list(ind)
    for x in extra:
        if x not in ov:
            ov.append(x)
    for f in formulas:
        if f.op == "=~" and f.rhs in lv:
            raise ValueError(
                f"model syntax: {f.rhs!r} is a factor used as an indicator of {f.lhs!r}; "
                "higher-order factors are not supported (indicators must be observed variables)"
            )
    return ov, lv


def _per_group(vals: list, ngroups: int, what: str, f: Formula) -> list:
    if len(vals) == 1:
        return vals * ngroups
    if len(vals) != ngroups:
        raise ValueError(
            f"model syntax: the modifier of {f.lhs} {f.op} {f.rhs} has {len(vals)} values but the "
            f"model has {ngroups} group(s)"
        )
    return list(vals)


def parameter_table(
    formulas: list[Formula],
    *,
    ngroups: int,
    meanstructure: bool,
    std_lv: bool,
    equal: tuple[str, ...],
    partial: tuple[str, ...],
) -> Table:
    """The full parameter table, as ``lavaan::cfa`` builds it (user rows first, then defaults)."""
    ov, lv = _names(formulas)
    if not lv:
        raise ValueError("model syntax: no factor defined (expected at least one 'F =~ x1 + x2 + ...')")
    if meanstructure is False and any(f.op == "~1" for f in formulas):
        meanstructure = True

    # user rows, then default rows not already given by the user
    base: list[tuple[str, str, str, bool, Formula | None]] = [(f.lhs, f.op, f.rhs, True, f) for f in formulas]
    have = {(f.lhs, f.op, f.rhs) for f in formulas} | {(f.rhs, f.op, f.lhs) for f in formulas if f.op == "~~"}
    defaults: list[tuple[str, str, str]] = [(x, "~~", x) for x in ov] + [(x, "~~", x) for x in lv]
    for i in range(len(lv)):
        for j in range(i + 1, len(lv)):
            defaults.append((lv[i], "~~", lv[j]))
    if meanstructure:
        defaults += [(x, "~1", "") for x in ov] + [(x, "~1", "") for x in lv]
    for d in defaults:
        if d not in have:
            base.append((d[0], d[1], d[2], False, None))

    # indicators per factor (for auto.fix.single)
    ind_of: dict[str, list[str]] = {k: [] for k in lv}
    for f in formulas:
        if f.op == "=~":
            ind_of[f.lhs].append(f.rhs)
    all_ind = [x for k in lv for x in ind_of[k]]
    single_ind = {
        ind_of[k][0] for k in lv if len(ind_of[k]) == 1 and all_ind.count(ind_of[k][0]) == 1
    }

    rows: list[Row] = []
    rid = 0
    for g in range(ngroups):
        first_seen: set[str] = set()
        for lhs, op, rhs, user, f in base:
            rid += 1
            free, value = True, math.nan
            if op == "~~" and lhs == rhs and lhs in lv and std_lv:
                free, value = False, 1.0
            if op == "=~" and not std_lv and lhs not in first_seen:
                free, value = False, 1.0
            if op == "=~":
                first_seen.add(lhs)
            if op == "~~" and lhs == rhs and not user and lhs in single_ind:
                free, value = False, 0.0
            if op == "~1" and lhs in lv and not user:
                free, value = False, 0.0
            if g > 0:
                if (op == "~1" and lhs in lv and not user and "intercepts" in equal and "means" not in equal):
                    free, value = True, math.nan
                if (std_lv and op == "~~" and lhs == rhs and lhs in lv and not user
                        and "loadings" in equal and "lv.variances" not in equal):
                    free, value = True, math.nan
            label = ""
            if f is not None:
                if f.mod.fixed is not None:
                    v = _per_group(f.mod.fixed, ngroups, "fixed", f)[g]
                    if isinstance(v, float) and math.isnan(v):
                        free, value = True, math.nan
                    else:
                        free, value = False, float(v)
                if f.mod.start is not None and free:
                    value = float(_per_group(f.mod.start, ngroups, "start", f)[g])
                if f.mod.label is not None:
                    label = str(_per_group(f.mod.label, ngroups, "label", f)[g])
            rows.append(Row(rid, lhs, op, rhs, g, user, free, value, label))

    # matrix positions
    oi = {x: i for i, x in enumerate(ov)}
    li = {x: i for i, x in enumerate(lv)}
    for r in rows:
        if r.op == "=~":
            r.mat, r.r, r.c = LAMBDA, oi[r.rhs], li[r.lhs]
        elif r.op == "~~":
            if r.lhs in li and r.rhs in li:
                a, b = li[r.lhs], li[r.rhs]
                r.mat, r.r, r.c = PSI, max(a, b), min(a, b)
            elif r.lhs in oi and r.rhs in oi:
                a, b = oi[r.lhs], oi[r.rhs]
                r.mat, r.r, r.c = THETA, max(a, b), min(a, b)
            else:
                raise ValueError(
                    f"model syntax: {r.lhs} ~~ {r.rhs} pairs a factor with an observed variable; "
                    "not supported in a measurement model"
                )
        elif r.op == "~1":
            if r.lhs in li:
                r.mat, r.r = ALPHA, li[r.lhs]
            else:
                r.mat, r.r = NU, oi[r.lhs]

    # equality labels (group.equal / group.partial, then user labels), as lavaan labels them
    partial_set = {p.replace(" ", "") for p in partial}
    flagged: set[tuple[str, str, str]] = set()
    if ngroups > 1 and equal:
        for r in rows:
            if r.group != 0:
                continue
            k = (r.lhs, r.op, r.rhs)
            is_ov = r.lhs in oi
            hit = (
                ("loadings" in equal and r.op == "=~")
                or ("intercepts" in equal and r.op == "~1" and is_ov)
                or ("means" in equal and r.op == "~1" and r.lhs in li)
                or ("residuals" in equal and r.op == "~~" and is_ov and r.lhs == r.rhs)
                or ("residual.covariances" in equal and r.op == "~~" and is_ov and r.lhs != r.rhs)
                or ("lv.variances" in equal and r.op == "~~" and r.lhs in li and r.lhs == r.rhs)
                or ("lv.covariances" in equal and r.op == "~~" and r.lhs in li and r.lhs != r.rhs)
            )
            if hit and r.key not in partial_set:
                flagged.add(k)
    for r in rows:
        lab = r.key if (r.group == 0 or (r.lhs, r.op, r.rhs) in flagged) else f"{r.key}.g{r.group + 1}"
        if r.label:
            lab = r.label
        r.eq_label = lab

    by_label: dict[str, list[Row]] = {}
    for r in rows:
        by_label.setdefault(r.eq_label, []).append(r)
    for lab, rs in by_label.items():
        if len(rs) > 1:
            fixed = [r for r in rs if not r.free]
            if fixed:
                v = fixed[0].value
                for r in rs:
                    r.free, r.value = False, v

    return Table(rows, ov, lv, ngroups, meanstructure, assign_pids(rows))


def assign_pids(rows: list[Row]) -> int:
    """Number the free parameters: rows sharing an equality label share a parameter. Returns the count."""
    npar = 0
    pid_of: dict[str, int] = {}
    for r in rows:
        if r.free:
            if r.eq_label not in pid_of:
                pid_of[r.eq_label] = npar
                npar += 1
            r.pid = pid_of[r.eq_label]
    return npar
