"""Serving: the search index, the searcher (exhaustive or two-stage), scoring of any image file,
the CLI and the web page."""
