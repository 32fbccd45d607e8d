"""The data: getting the raw dataset (fetch), validating it into clean tables (validate), and
aggregating expert scores and crowd votes into one target per pair (labels)."""
