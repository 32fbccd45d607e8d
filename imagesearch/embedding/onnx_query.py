"""An ONNX copy of the MiniLM text encoder, so that a query is encoded without importing torch.

:func:`export_minilm_onnx` (run when the embed_texts stage saves MiniLM; imports torch and
sentence-transformers) writes a folder with ``model.onnx`` (transformer -> mean pooling over
the attention mask -> L2 normalisation, all inside the graph), the model's ``tokenizer.json``
and ``onnx_text.json`` (max_length, dim, ...). :class:`OnnxTextEncoder` loads that folder with
only numpy, onnxruntime and tokenizers, and encodes texts to the same vectors as the
sentence-transformers encoder (up to float rounding).
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "onnx_text.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
CHECK_SENTENCES = ["two dogs play in the snow", "A man rides a bike.", "x", "word " * 300]


def export_minilm_onnx(model_dir: str | Path, out_dir: str | Path, source: dict | None = None) -> dict:
    """Export the sentence-transformers model in ``model_dir`` to ONNX in ``out_dir``; return its config.

    Needs torch, sentence-transformers and the ``onnx`` package (the TorchScript exporter);
    raises if the exported copy does not reproduce the original's vectors on a few sentences.

    ``source`` (e.g. the saved text encoder's ``encoder.json``) is recorded in the config as is.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    st = SentenceTransformer(str(model_dir), device="cpu")
    st.eval()
    transformer = st[0].auto_model
    tokenizer_file = model_dir / TOKENIZER_FILE

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    dummy = st.tokenizer(["an example sentence", "two"], padding=True, return_tensors="pt")
    args = tuple(dummy.get(name, torch.zeros_like(dummy["input_ids"])) for name in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    axes["embedding"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(Encoder().eval(), args, str(out_dir / MODEL_FILE), input_names=list(INPUTS),
                          output_names=["embedding"], dynamic_axes=axes, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
    if tokenizer_file.is_file():
        shutil.copy2(tokenizer_file, out_dir / TOKENIZER_FILE)
    else:
        st.tokenizer.backend_tokenizer.save(str(out_dir / TOKENIZER_FILE))
    config = {
        "max_length": int(st.max_seq_length),
        "dim": int(transformer.config.hidden_size),
        "pad_id": int(st.tokenizer.pad_token_id or 0),
        "pad_token": str(st.tokenizer.pad_token or "[PAD]"),
        "pooling": "mean", "normalize": True, "opset": OPSET,
        "source": source,
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    # Refuse a copy that does not reproduce the original's vectors.
    expected = st.encode(CHECK_SENTENCES, convert_to_numpy=True, normalize_embeddings=True)
    got = OnnxTextEncoder.load(out_dir).encode(CHECK_SENTENCES)
    worst = float((expected * got).sum(1).min())
    if worst < 0.9999:
        raise RuntimeError(f"ONNX export of {model_dir} differs from the original (cosine {worst:.6f})")
    return config


class OnnxTextEncoder:
    """Encodes texts with the folder written by :func:`export_minilm_onnx` (no torch)."""

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
