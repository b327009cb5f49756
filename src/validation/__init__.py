"""Validation of the VERA-2R + SQ risk-assessment battery.

Three layers (see docs/architecture.md):

* statistics: :mod:`validation.reliability`, :mod:`validation.factor`, :mod:`validation.agreement`,
  :mod:`validation.predictive` -- pure functions, no file I/O, no knowledge of the instruments;
* battery: :mod:`validation.instruments`, :mod:`validation.contract`, :mod:`validation.scoring`,
  :mod:`validation.synthetic`;
* pipeline: :mod:`validation.stages` (the DVC stage commands) and the report.
"""

__version__ = "0.1.0"
