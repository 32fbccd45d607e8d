"""Text-to-image search: a relevance model over image and text vectors, served by a DVC pipeline."""

__version__ = "0.1.0"
