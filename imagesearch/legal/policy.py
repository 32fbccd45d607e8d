"""The serving policy: the legal rules that search, score, the web page and ``legal-check`` ask.

One object so that no caller wires rules by hand: the text rule (every registered text rule over
the packaged term list) and, where the index holds one, the visual classifier the legal stage
trained. A caller asks :meth:`LegalPolicy.check_text` before it embeds a query, and
:meth:`LegalPolicy.check_image_vectors` before it scores a photo the catalog does not hold.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagesearch import paths
from imagesearch.legal.rules import DISCLAIMER, Verdict
from imagesearch.legal.text_rule import TextRule, load_text_rule
from imagesearch.legal.visual import VisualClassifier

VISUAL_CLASSIFIER_FILE = paths.INDEX_VISUAL_CLASSIFIER


@dataclass(frozen=True)
class LegalPolicy:
    """Text rule + optional visual classifier; ``disclaimer`` is what a blocked request gets."""

    text_rule: TextRule
    visual: VisualClassifier | None = None
    disclaimer: str = DISCLAIMER

    @classmethod
    def load(cls, index_folder: str | Path | None = None, require_visual: bool = False) -> "LegalPolicy":
        """The packaged text rule, plus the visual classifier stored in ``index_folder`` if any.

        ``require_visual`` makes a missing classifier an error naming the file (``score`` needs it).
        """
        visual = None
        if index_folder is not None:
            path = Path(index_folder) / VISUAL_CLASSIFIER_FILE
            if path.is_file():
                visual = VisualClassifier.load(path)
            elif require_visual:
                raise FileNotFoundError(f"{path}: no visual classifier; rebuild the index (dvc repro index)")
        return cls(load_text_rule(), visual)

    def check_text(self, text: str) -> Verdict:
        """The text rule's verdict on a query or caption."""
        return self.text_rule.check(text)

    def check_image_vectors(self, vectors: np.ndarray) -> list[Verdict]:
        """The visual classifier's verdict per row of ``vectors`` (n, d); allowed when there is none."""
        if self.visual is None:
            raise RuntimeError("this policy has no visual classifier: load it from an index folder")
        return self.visual.check_vectors(vectors)


def legal_check_lines(lines: Iterable[str], policy: LegalPolicy) -> Iterator[str]:
    """One output line per input line (``imagesearch legal-check``): ``blocked\\t<rule>:<words>`` or ``allowed``."""
    for line in lines:
        verdict = policy.check_text(line.rstrip("\r\n"))
        yield f"blocked\t{verdict.rule}:{','.join(verdict.words)}" if verdict.blocked else "allowed"
