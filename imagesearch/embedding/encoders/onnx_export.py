"""The ONNX copy of a text tower that a saved text encoder carries (``onnx/``), so that search
encodes queries without torch (:class:`~imagesearch.embedding.onnx_query.OnnxTextEncoder`).

One export routine for every backend with such a copy (MiniLM, the CLIP/SigLIP text towers): each
backend builds its tower (tokens -> pooled, L2-normalised vector) and example tokens; this module
writes ``model.onnx``, the tokenizer and ``onnx_text.json``, and refuses a copy whose vectors
differ from the backend's own. Needs torch and the ``onnx`` package (the TorchScript exporter),
imported only when a copy is written.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.embedding.onnx_query import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxTextEncoder

OPSET = 17
#: What an exported copy must encode like the backend (the last one is truncated).
CHECK_SENTENCES = ["two dogs play in the snow", "A man rides a bike.", "x", "word " * 300]


def export_text_onnx(tower: Any, example: Mapping[str, Any], out_dir: str | Path, *,
                     save_tokenizer: Callable[[Path], None], config: dict[str, Any],
                     reference: Callable[[list[str]], np.ndarray], label: str,
                     max_difference: float | None = None) -> dict[str, Any]:
    """Export ``tower`` (a ``torch.nn.Module`` taking the tensors of ``example``, in that order,
    as named inputs, and returning unit rows) into ``out_dir``; return the config written.

    ``save_tokenizer(path)`` writes the ``tokenizers`` JSON; ``config`` holds ``max_length``,
    ``dim``, ``pad_id``, ``pad_token``, ``pooling`` and ``source`` (``normalize`` and ``opset``
    are added here). The copy must reproduce ``reference`` (the backend's encode) on
    :data:`CHECK_SENTENCES`: a cosine of at least 0.9999 and, where ``max_difference`` is given,
    no component off by more; else RuntimeError naming ``label``.
    """
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(example)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["embedding"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and exporter chatter
        torch.onnx.export(tower.eval(), tuple(example[name] for name in names), str(out_dir / MODEL_FILE),
                          input_names=names, output_names=["embedding"], dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    del tower  # the float32 copy; the check below runs the backend's own model
    save_tokenizer(out_dir / TOKENIZER_FILE)
    config = {**config, "normalize": True, "opset": OPSET}
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    expected = np.asarray(reference(CHECK_SENTENCES), dtype=np.float64)
    got = OnnxTextEncoder.load(out_dir).encode(CHECK_SENTENCES)
    cosine = float((expected * got).sum(1).min())
    worst = float(np.abs(expected - got).max())
    if cosine < 0.9999 or (max_difference is not None and worst > max_difference):
        raise RuntimeError(f"ONNX export of {label} differs from the torch encoder "
                           f"(cosine {cosine:.6f}, largest difference {worst:.2e})")
    return config
