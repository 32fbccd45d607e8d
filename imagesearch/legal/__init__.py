"""The legal rule: no information showing or describing a person under 16.

The reviewed term list (``terms.yaml``) and the hand labels the legal stage scores itself
against (``hand_labels.csv``) live here beside the rules that read them.
"""
