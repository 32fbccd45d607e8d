"""Vectors: the encoder registry and backends (``encoders/``), the content-addressed cache, vector
files, the embed_images / embed_texts helpers, and the ONNX query encoder that search uses."""
