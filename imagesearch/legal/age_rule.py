"""The age rule: an age under 16 stated in English ("a 7-year-old", "aged five", "3rd grader").

Each way of stating an age is one small matcher over the token list; a matcher returns the span
that states an age below ``min_allowed_age`` (or a school grade up to ``max_blocked_grade``) at
token ``i``, or None. "A 2-year-old dog" does not fire: the word after the span names a
non-person (``age.non_persons`` in terms.yaml).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imagesearch.legal.numbers import number_after, number_before, ordinal_before
from imagesearch.legal.rules import register_text_rule
from imagesearch.legal.tokens import Tokenizer, plural_forms


@register_text_rule
@dataclass(frozen=True)
class AgeRule:
    """Fires on a stated age below the limit; evidence: the spans ("7 year old")."""

    tokenizer: Tokenizer
    min_allowed_age: float = 16.0
    max_blocked_grade: int = 10
    units: Mapping[str, float] = field(default_factory=lambda: {"year": 1.0})
    non_persons: frozenset[str] = frozenset()
    name = "age"
    precedence = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "AgeRule":
        age = config.get("age") or {}
        return cls(tokenizer, min_allowed_age=float(age.get("min_allowed_age", 16)),
                   max_blocked_grade=int(age.get("max_blocked_grade", 10)),
                   units={str(k): float(v) for k, v in (age.get("units") or {"year": 1.0}).items()},
                   non_persons=frozenset(age.get("non_persons") or []))

    def evidence(self, text: str) -> list[str]:
        tokens = self.tokenizer.tokens(text)
        matchers = (self._years_old, self._yo, self._aged, self._birthday, self._grade)
        return [span for i in range(len(tokens)) for matcher in matchers
                if (span := matcher(tokens, i)) is not None]

    # ---- matchers: each looks at token i and returns the age span or None
    def _years_old(self, tokens: list[str], i: int) -> str | None:
        """"7 year old", "seven-year-olds", "two and a half years old", "5 years of age"."""
        unit = self._unit(tokens[i])
        if unit is None:
            return None
        following = tokens[i + 1:i + 3]
        end = i + 2 if following[:1] in (["old"], ["olds"]) else i + 3
        if end != i + 2 and following != ["of", "age"]:
            return None
        number = number_before(tokens, i)
        if number is None or number[0] * unit >= self.min_allowed_age or self._about_non_person(tokens, end):
            return None
        return " ".join(tokens[number[1]:end])

    def _yo(self, tokens: list[str], i: int) -> str | None:
        """"5yo", "5 y o", and in months "9 m.o." ("9 m o")."""
        if tokens[i] == "m" and tokens[i + 1:i + 2] == ["o"]:
            years = self.units.get("month", 1 / 12)
        elif tokens[i] == "yo" or (tokens[i] == "y" and tokens[i + 1:i + 2] == ["o"]):
            years = 1.0
        else:
            return None
        end = i + 1 if tokens[i] == "yo" else i + 2
        number = number_before(tokens, i)
        if number is None or number[0] * years >= self.min_allowed_age or self._about_non_person(tokens, end):
            return None
        return " ".join(tokens[number[1]:end])

    def _aged(self, tokens: list[str], i: int) -> str | None:
        """"aged 5", "age five", "ages 3 months"."""
        if tokens[i] not in ("age", "aged", "ages"):
            return None
        number = number_after(tokens, i + 1)
        if number is None:
            return None
        value, end = number
        scale = self._unit(tokens[end]) if end < len(tokens) else None
        if value * (scale if scale is not None else 1.0) >= self.min_allowed_age:
            return None
        return " ".join(tokens[i:end + (scale is not None)])

    def _birthday(self, tokens: list[str], i: int) -> str | None:
        """"5th birthday", "tenth birthday"."""
        if tokens[i] not in ("birthday", "birthdays"):
            return None
        ordinal = ordinal_before(tokens, i)
        if ordinal is None or ordinal[0] >= self.min_allowed_age:
            return None
        return " ".join(tokens[ordinal[1]:i + 1])

    def _grade(self, tokens: list[str], i: int) -> str | None:
        """"3rd grade", "fifth graders"."""
        if tokens[i] not in ("grade", "grader", "graders"):
            return None
        ordinal = ordinal_before(tokens, i)
        if ordinal is None or ordinal[0] > self.max_blocked_grade:
            return None
        return " ".join(tokens[ordinal[1]:i + 1])

    def _unit(self, token: str) -> float | None:
        for form in plural_forms(token):
            if form in self.units:
                return self.units[form]
        return None

    def _about_non_person(self, tokens: list[str], end: int) -> bool:
        """True when the word after an age span names an animal or thing ("a 2-year-old dog")."""
        return end < len(tokens) and bool(plural_forms(tokens[end]) & self.non_persons)
