"""What a query may be: shared by the searcher, the CLI, the API and the page.

A module of its own, with no imports, so that the CLI can build its argument parser (defaults,
help) without loading the searcher's dependencies.
"""
MAX_QUERY_CHARS = 300
MAX_K = 100
DEFAULT_K = 10
