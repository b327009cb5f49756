"""Benchmarks: the project's functions against the peers on the same data, in one process run.

``make bench`` (or ``python -m benchmarks``) prints, for each case, the median time of the project
and of every peer, and the ratio peer / project (above 1: the project is faster). Machines are noisy:
read the ratios, not the bare times.
"""
