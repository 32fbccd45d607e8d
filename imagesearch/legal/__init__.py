"""The legal rule: no information showing or describing a person under 16.

The reviewed English and Russian term list (``terms.yaml``), one list per other language
(``lexicons/``), and the hand labels and language sets the legal stage scores the rules against
(``hand_labels*.csv``, ``language_sets/``) live here beside the rules that read them.
"""
