"""The serving policy: the legal rules that search, score, the web page and ``legal-check`` ask.

One object so that no caller wires rules by hand: the text rule (every registered text rule over
the packaged term lists); for a text the lists cannot judge (a script or language with no list:
:func:`~imagesearch.legal.coverage.uncovered`) the ``uncovered_language`` policy of params.yaml,
saved by the legal stage beside the cross-lingual word rule in the index: ``refuse`` (blocked, rule
``uncovered_language``; :meth:`LegalPolicy.message` says which languages are checked) or
``notice`` (the cross-lingual line's best effort, allowed with a notice); the verdicts the pipeline gave every photo it saw (by content
hash); and, where the index holds one, the visual classifier the legal stage trained. A caller asks
:meth:`LegalPolicy.check_text` before it embeds a query and :meth:`LegalPolicy.check_photo`
before it scores a photo: a photo the pipeline blocked is refused whatever its file name, one it
allowed is allowed, and only a photo it never saw goes to the visual classifier.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imagesearch import paths
from imagesearch.data.columns import read_columns
from imagesearch.hashing import hash_file
from imagesearch.legal.coverage import uncovered
from imagesearch.legal.crosslingual import CrosslingualWordRule
from imagesearch.legal.rules import ALLOWED, DISCLAIMER, Verdict
from imagesearch.legal.text_rule import TextRule, load_text_rule
from imagesearch.legal.visual import LazyVisualClassifier, VisualClassifier

VISUAL_CLASSIFIER_FILE = paths.INDEX_VISUAL_CLASSIFIER
PHOTO_VERDICTS_FILE = paths.INDEX_PHOTO_VERDICTS
UNCOVERED_RULE = "uncovered_language"
UNCOVERED_POLICIES = ("refuse", "notice")
COVERED_LANGUAGES = ("English, Russian, Ukrainian, Belarusian, Kazakh, German, French, Spanish, Italian, "
                     "Portuguese, Polish, Turkish")
UNCOVERED_MESSAGE = ("This query cannot be checked against local laws in its language; please write it in "
                     f"one of: {COVERED_LANGUAGES}")
UNCOVERED_NOTICE = f"This query's language is checked on a best-effort basis only (checked: {COVERED_LANGUAGES})"


@dataclass(frozen=True)
class LegalPolicy:
    """Text rule + optional second text line and visual classifier; ``disclaimer`` is what a
    blocked request gets."""

    text_rule: TextRule
    visual: VisualClassifier | LazyVisualClassifier | None = None
    known_photos: Mapping[str, bool] = field(default_factory=dict)  # sha256 -> blocked
    disclaimer: str = DISCLAIMER
    crosslingual: CrosslingualWordRule | None = None
    uncovered_language: str = "refuse"   # params.yaml legal.uncovered_language

    @classmethod
    def load(cls, index_folder: str | Path | None = None) -> "LegalPolicy":
        """The packaged text rule, plus the second text line, photo verdicts and visual classifier
        in ``index_folder``."""
        visual, known, crosslingual = None, {}, None
        if index_folder is not None:
            verdicts = Path(index_folder) / PHOTO_VERDICTS_FILE
            if verdicts.is_file():
                table = read_columns(verdicts, ["sha256", "blocked"])
                known = dict(zip(table["sha256"], map(bool, table["blocked"])))
            path = Path(index_folder) / VISUAL_CLASSIFIER_FILE
            if path.is_file():
                visual = LazyVisualClassifier(path)  # read when a photo first needs it
            path = Path(index_folder) / paths.INDEX_CROSSLINGUAL_RULE
            if path.is_file():
                crosslingual = CrosslingualWordRule.load(path)
        policy = crosslingual.uncovered_language if crosslingual is not None else "refuse"
        return cls(load_text_rule(), visual, known, crosslingual=crosslingual, uncovered_language=policy)

    def check_text(self, text: str) -> Verdict:
        """The term lists' verdict on a query or caption; where they allow a text they cannot judge,
        the uncovered-language policy's: refused, or the cross-lingual line's best effort with a
        notice (``Verdict(False, "uncovered_language", (why,))``)."""
        verdict = self.text_rule.check(text)
        if verdict.blocked:
            return verdict
        reason = uncovered(text)
        if reason is None:
            return verdict
        if self.uncovered_language == "refuse":
            return Verdict(True, UNCOVERED_RULE, (reason,))
        if self.crosslingual is not None and (second := self.crosslingual.check(text)).blocked:
            return second
        return Verdict(False, UNCOVERED_RULE, (reason,))

    def message(self, verdict: Verdict) -> str | None:
        """What a caller shows: the disclaimer for a blocked text, the uncovered-language message
        or notice, or None."""
        if verdict.rule == UNCOVERED_RULE:
            return UNCOVERED_MESSAGE if verdict.blocked else UNCOVERED_NOTICE
        return self.disclaimer if verdict.blocked else None

    def check_photo(self, path: str | Path, vector: Callable[[], np.ndarray], digest: str | None = None) -> Verdict:
        """The verdict on one photo file: by its content hash (``digest``, the file's sha256 if the
        caller has it) if the pipeline judged it, else by the visual classifier on ``vector()``
        (called only then: embedding costs)."""
        digest = digest or hash_file(path)
        if digest in self.known_photos:
            return Verdict(True, "blocked_photo", (digest[:12],)) if self.known_photos[digest] else ALLOWED
        return self.check_image_vectors(vector())[0]

    def check_image_vectors(self, vectors: np.ndarray) -> list[Verdict]:
        """The visual classifier's verdict per row of ``vectors`` (n, d); allowed when there is none."""
        if self.visual is None:
            raise RuntimeError("this policy has no visual classifier: load it from an index folder")
        return self.visual.check_vectors(vectors)


def legal_check_lines(lines: Iterable[str], policy: LegalPolicy) -> Iterator[str]:
    """One output line per input line (``imagesearch legal-check``): ``blocked\\t<rule>:<words>`` or ``allowed``."""
    for line in lines:
        verdict = policy.check_text(line.rstrip("\r\n"))
        if verdict.blocked:
            yield f"blocked\t{verdict.rule}:{','.join(verdict.words)}"
        else:
            yield f"allowed\tnotice:{','.join(verdict.words)}" if verdict.rule else "allowed"
