"""The legal rule interface: what every rule returns, and the registry a new rule joins.

A **text rule** reads one text and returns the evidence that fired (words or spans, empty when
nothing did); :class:`~imagesearch.legal.text_rule.TextRule` runs the registered text rules in
order over every normalised reading of a text and returns one :class:`Verdict`. An **image rule**
(the visual classifier) reads image vectors. The legal stage and the serving policy use the same
rule objects, so what the pipeline removes from training is what search refuses.

Adding a text rule: a class with ``name``, ``precedence`` (a verdict is named after the firing
rule of lowest precedence: "term" 0 before "age" 1) and ``evidence(text) -> list[str]``, a classmethod
``from_config(config, tokenizer)`` reading its section of ``terms.yaml``, the decorator
``@register_text_rule`` and its tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

DISCLAIMER = "This image is unavailable in your country in compliance with local laws"
DISCLAIMER_RU = "Это изображение недоступно в вашей стране в соответствии с местным законодательством"
DISCLAIMERS = {"en": DISCLAIMER, "ru": DISCLAIMER_RU}  # the web page shows the one in its language


@dataclass(frozen=True)
class Verdict:
    """A rule's answer for one text or image: ``rule`` names what fired ("" when allowed),
    ``words`` is the evidence (the words or spans that fired)."""

    blocked: bool
    rule: str
    words: tuple[str, ...]


ALLOWED = Verdict(False, "", ())


class TextRuleComponent(Protocol):
    """One text rule: the evidence in a normalised text that it describes a child."""

    name: str
    precedence: int

    def evidence(self, text: str) -> list[str]: ...


class ImageRule(Protocol):
    """An image rule: one verdict per row of an (n, d) matrix of image vectors."""

    name: str

    def check_vectors(self, vectors: np.ndarray) -> list[Verdict]: ...


R = TypeVar("R")
TEXT_RULES: dict[str, Any] = {}


def register_text_rule(cls: type[R]) -> type[R]:
    """Class decorator: make a text rule available by its ``name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a non-empty class attribute 'name'")
    if name in TEXT_RULES and TEXT_RULES[name] is not cls:
        raise ValueError(f"a text rule named {name!r} is registered already ({TEXT_RULES[name].__name__})")
    TEXT_RULES[name] = cls
    return cls

