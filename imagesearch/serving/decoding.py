"""The two-stage index's float16 vectors back to float32, fast, for a query's candidates.

A query re-ranks thousands of candidates whose stored vectors are float16: numpy's float16 ->
float32 cast runs one value at a time, onnxruntime's ``Cast`` with the CPU's conversion
instructions (the same values: every float16 is exactly a float32). :func:`to_float32` is that
cast; :class:`IvfVectors` reads the vectors of catalog rows straight from a FAISS IVF index with
float16 codes (the candidate index) instead of ``reconstruct_batch``, which decodes row by row.
Both give exactly the bits of the slow path (tests/test_decoding.py).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

GRAPH_PATH = Path(__file__).with_name("cast_float16.onnx")


@lru_cache(maxsize=1)
def _session() -> Any:
    """A one-thread onnxruntime session of the cast graph (:func:`graph_bytes`, stored beside this
    module), or None where onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(GRAPH_PATH.read_bytes(), options, providers=["CPUExecutionProvider"])


def graph_bytes() -> bytes:
    """The ONNX graph float16 x (n, d) -> float32 y, built with ``onnx`` (a pipeline dependency;
    the serve install reads the stored file): ``python -m imagesearch.serving.decoding`` writes
    it, a test compares."""
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)], "cast",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [None, None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="imagesearch")
    model.ir_version = 9
    return model.SerializeToString()


def to_float32(values: np.ndarray) -> np.ndarray:
    """``values`` as float32: float16 (n, d) through onnxruntime's cast, anything else (or without
    onnxruntime) through numpy's, the same values."""
    values = np.asarray(values)
    session = _session() if values.dtype == np.float16 and values.ndim == 2 and values.size else None
    if session is None:
        return values.astype(np.float32)
    return session.run(None, {"x": np.ascontiguousarray(values)})[0]


class IvfVectors:
    """The stored vectors of an ``IndexIVFScalarQuantizer`` with float16 codes, by catalog row.

    The codes are read in place from the index's inverted lists (numpy views, no copy: valid while
    ``self.index`` lives and until the next ``add``, after which ``CandidateIndex`` builds a new
    one); a residual index adds each row's list centroid back, as FAISS's ``reconstruct`` does.
    """

    def __init__(self, index: Any) -> None:
        import faiss

        ivf = faiss.extract_index_ivf(index)
        if ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.make_direct_map()
        self.index, self.dim = index, ivf.d
        located = faiss.vector_to_array(ivf.direct_map.array)
        self.lists, self.offsets = located >> 32, located & 0xFFFFFFFF
        code_size, invlists = ivf.code_size, ivf.invlists
        self.codes = [faiss.rev_swig_ptr(invlists.get_codes(i), invlists.list_size(i) * code_size)
                      .view(np.float16).reshape(-1, self.dim) if invlists.list_size(i) else None
                      for i in range(ivf.nlist)]
        self.centroids = ivf.quantizer.reconstruct_n(0, ivf.nlist) if index.by_residual else None
        self.size = int(index.ntotal)

    @staticmethod
    def supports(index: Any) -> bool:
        """An IVF index with float16 scalar-quantizer codes and a direct map that can be built."""
        import faiss

        return (isinstance(index, faiss.IndexIVFScalarQuantizer)
                and index.sq.qtype == faiss.ScalarQuantizer.QT_fp16
                and isinstance(faiss.downcast_InvertedLists(index.invlists), faiss.ArrayInvertedLists))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """float32 (len(rows), d): the vectors ``reconstruct_batch(rows)`` returns, the same bits."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.size):
            raise IndexError(f"rows must be in [0, {self.size})")
        lists, offsets = self.lists[rows], self.offsets[rows]
        codes = np.empty((len(rows), self.dim), dtype=np.float16)
        order = np.argsort(lists, kind="stable")
        starts = np.flatnonzero(np.diff(lists[order])) + 1
        for group in np.split(order, starts) if len(rows) else []:
            codes[group] = self.codes[lists[group[0]]][offsets[group]]
        vectors = to_float32(codes)
        if self.centroids is not None:
            vectors += self.centroids[lists]  # one float32 addition per value, as FAISS's reconstruct
        return vectors


if __name__ == "__main__":
    GRAPH_PATH.write_bytes(graph_bytes())
