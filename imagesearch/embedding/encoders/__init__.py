"""Image and text encoders behind one small interface, chosen by name from params.

Import the side you need, so that a stage depends only on its own encoder code (editing the text
encoders must not re-embed images):

>>> from imagesearch.embedding.encoders.image import build_image_encoder
>>> enc = build_image_encoder({"encoder": "efficientnet-lite0", "batch_size": 8})
>>> enc.encode(["a.jpg", "b.jpg"]).shape   # (2, 1280), float32, unit rows

Building an encoder is cheap: torch, sentence-transformers and TensorFlow load only when a
backend first encodes.
"""
