"""The legal rules' word tokens: exactly NLTK's RegexpTokenizer, without importing NLTK at search time."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import RegexpTokenizer

from imagesearch.legal import tokens
from imagesearch.legal.normalise import normalise
from tests.encoder_fixtures import CAPTIONS

LEGAL = Path(tokens.__file__).parent
NLTK = RegexpTokenizer(tokens.TOKEN_PATTERN)


def prepared(text: str) -> str:
    """What Tokenizer.tokens hands the tokenizer."""
    return normalise(text).lower().translate(tokens._APOSTROPHES)


def labelled_texts() -> list[str]:
    texts = list(CAPTIONS)
    for name in ("hand_labels_ru.csv", "probes_multilingual.csv"):
        with open(LEGAL / name, newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    texts += [str(term) for term in _leaves(yaml.safe_load((LEGAL / "terms.yaml").read_text()))]
    return texts


def _leaves(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    elif isinstance(node, str):
        yield node


def test_same_tokens_as_nltk_on_every_labelled_text() -> None:
    texts = labelled_texts()
    assert len(texts) > 500
    for text in texts:
        assert tokens._find_tokens(prepared(text)) == NLTK.tokenize(prepared(text)), text


@pytest.mark.realdata
def test_same_tokens_as_nltk_on_every_caption_and_query_of_the_dataset(real_dataset: Path) -> None:
    texts = []
    for name, column in (("train_dataset.csv", "query_text"), ("test_queries.csv", "query_text")):
        with open(real_dataset / name, newline="") as handle:
            reader = csv.DictReader(handle, delimiter="|" if name == "test_queries.csv" else ",")
            texts += [row[column] for row in reader if column in row]
    assert len(texts) > 1000
    for text in texts:
        assert tokens._find_tokens(prepared(text)) == NLTK.tokenize(prepared(text)), text


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("abcxyz019 .,-'’`–—\u2010\u2011ÿé\n\tКк")), max_size=40))
def test_same_tokens_as_nltk_on_generated_text(text: str) -> None:
    assert tokens._find_tokens(prepared(text)) == NLTK.tokenize(prepared(text))


def test_searching_imports_no_nltk() -> None:
    import subprocess
    import sys

    code = ("import sys; from imagesearch.legal.policy import LegalPolicy; "
            "from imagesearch.serving.searcher import Searcher; print('nltk' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.stdout.strip() == "False"
