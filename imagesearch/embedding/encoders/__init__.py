"""Image and text encoders behind one small interface, chosen by name from params.

Build through a side's catalog, which imports every backend of that side and only that side, so
that a stage depends only on its own encoder code (editing the text encoders must not re-embed
images):

>>> from imagesearch.embedding.encoders.image import build_image_encoder
>>> enc = build_image_encoder({"encoder": "efficientnet-lite0", "batch_size": 8})
>>> enc.encode(["a.jpg", "b.jpg"]).shape   # (2, 1280), float32, unit rows

Building an encoder is cheap: torch, sentence-transformers and TensorFlow load only when a
backend first encodes.

Layout (imports point down the list, never up; tests/test_layout.py refuses import cycles):

- ``names.py``: every backend's name (params validation reads it, importing nothing else);
- ``base.py``: :class:`Encoder`, what every backend implements (identity, fingerprint, lazy model);
- ``registry.py``: the name -> backend tables ``IMAGE_ENCODERS`` / ``TEXT_ENCODERS``;
- ``image_base.py`` / ``text_base.py``: each side's base class (the image input pipeline, the
  saved text-encoder folder); helpers ``tfhub.py``, ``vl_common.py``, ``onnx_export.py``;
- one module per backend, registering itself: ``efficientnet``, ``resnet``, ``tfhub_image``,
  ``concat``, ``vision_language`` (image); ``minilm``, ``use``, ``tfidf``, ``tfhub_text``,
  ``vision_language_text`` (text);
- ``image.py`` / ``text.py``: the catalogs, importing every backend of their side:
  ``build_image_encoder``, ``image_encoder_names``; ``build_text_encoder``, ``load_text_encoder``.

A new backend: its module, its name in ``names.py``, one import line in its side's catalog, tests.
"""
