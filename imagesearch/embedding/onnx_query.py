"""Encodes a query with the ONNX copy of a text encoder, without importing torch.

A saved text encoder that has one (MiniLM, CLIP/SigLIP) carries the copy in ``onnx/``:
``model.onnx`` (transformer -> pooling -> L2 normalisation, all inside the graph), the model's
``tokenizer.json`` and ``onnx_text.json`` (max_length, dim, ...), written when the embed_texts
stage saves the encoder (:mod:`imagesearch.embedding.encoders.onnx_export`).
:class:`OnnxTextEncoder` loads that folder with only numpy, onnxruntime and tokenizers, and
encodes texts to the same vectors as the torch encoder (up to float rounding).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "onnx_text.json"


class OnnxTextEncoder:
    """Encodes texts with a folder written by ``encoders/onnx_export.py`` (no torch)."""

    name = "minilm-onnx"

    def __init__(self, session: Any, tokenizer: Any, config: dict, batch_size: int = 64) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.config = config
        self.batch_size = batch_size
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> "OnnxTextEncoder":
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text())
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        # Same as sentence-transformers: truncate to max_seq_length, pad to the longest in batch.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=int(config["max_length"]))
        tokenizer.enable_padding(pad_id=int(config["pad_id"]), pad_token=config["pad_token"])
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        session = ort.InferenceSession(str(folder / MODEL_FILE), options,
                                       providers=["CPUExecutionProvider"])
        return cls(session, tokenizer, config)

    @property
    def dim(self) -> int:
        return int(self.config["dim"])

    def encode(self, texts: str | Sequence[str], batch_size: int | None = None,
               progress: bool = False) -> np.ndarray:
        """Encode texts (one string is allowed) -> ``(n, dim)`` float32, L2-normalised rows."""
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(text) for text in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or self.batch_size
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(texts[start:start + batch_size])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            out.append(self.session.run(None, {k: feeds[k] for k in self._inputs})[0])
        vectors = np.concatenate(out).astype(np.float32, copy=False)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
