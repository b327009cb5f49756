"""Run an estimator with single-threaded BLAS: its matrices are small (a few hundred rows at most), where a
threaded BLAS only adds synchronisation cost (on two cores, a 255 x 255 Cholesky takes four times as long)."""

from __future__ import annotations

import functools

from threadpoolctl import threadpool_limits


def single_thread(fn):
    """Decorate ``fn`` to run with BLAS limited to one thread (restored afterwards)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper
