"""Two CPU code paths on one machine, for the same-bytes-everywhere tests.

``BEST`` leaves every library to pick its fastest kernels (AVX-512 here); ``FORCED`` makes torch
run its scalar ATen kernels, oneDNN stop at SSE4.1, numpy's own SIMD loops drop AVX-512, and
every thread pool run one thread. OpenBLAS is pinned (``OPENBLAS_CORETYPE``, as dvc.yaml does)
in both: that is how the project removes that cause, not something the outputs must survive.
"""
from __future__ import annotations

import os

from imagesearch.stage import BLAS_CORETYPE


def numpy_avx512_features() -> list[str]:
    """The AVX-512 features numpy dispatches to on this machine (may be none)."""
    from numpy._core._multiarray_umath import __cpu_features__

    return sorted(name for name, present in __cpu_features__.items()
                  if present and name.startswith("AVX512"))


def best() -> dict[str, str]:
    env = dict(os.environ, OPENBLAS_CORETYPE=BLAS_CORETYPE)
    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "NPY_DISABLE_CPU_FEATURES",
                 "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(name, None)
    return env


def forced() -> dict[str, str]:
    env = dict(best(), ATEN_CPU_CAPABILITY="default", ONEDNN_MAX_CPU_ISA="SSE41",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    features = numpy_avx512_features()
    if features:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(features)
    return env
