"""The relevance model: the joint space, XGBoost on its pair features, cross-validation, the test
report, metrics and the gallery."""
