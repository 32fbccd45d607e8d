"""The compiled language lists (``lexicons/compiled.json``) are the lists the sources give.

- the committed file is byte for byte what ``python -m imagesearch.legal.lexicon_compiled`` writes,
  and every list it holds equals the list built from the YAML;
- a file that does not match its sources (any byte of a list, forms.json, terms.yaml or the code
  that builds and folds the lists) is not used: an edited list blocks its new term at once;
- a query reads only the lists of its script.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imagesearch.legal.lexicon import LANGUAGES, lexicon_script
from imagesearch.legal.lexicon_build import build_lexicon
from imagesearch.legal.lexicon_compiled import (COMPILED_PATH, compiled_lexicons, from_data, read_compiled,
                                                source_files, source_key, write)
from imagesearch.legal.text_rule import load_text_rule

REPO = Path(__file__).resolve().parents[1]
LEGAL = REPO / "imagesearch" / "legal"
REWRITE = "rewrite it: python -m imagesearch.legal.lexicon_compiled"


def test_the_committed_file_is_what_the_sources_give(tmp_path: Path) -> None:
    write(tmp_path / "compiled.json")
    assert (tmp_path / "compiled.json").read_bytes() == COMPILED_PATH.read_bytes(), REWRITE


def test_every_stored_list_equals_the_list_built_from_its_sources() -> None:
    stored = compiled_lexicons()
    assert stored is not None, REWRITE  # its key matches the sources in this checkout
    assert list(stored) == list(LANGUAGES)
    for lang in LANGUAGES:
        assert from_data(stored[lang]) == build_lexicon(lang), lang
        assert lexicon_script(lang) == build_lexicon(lang).script


def test_the_key_changes_with_every_source(tmp_path: Path) -> None:
    for path in source_files():
        copy = tmp_path / path.relative_to(LEGAL)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    key = source_key(tmp_path)
    assert key == source_key()
    for path in source_files(tmp_path):
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert source_key(tmp_path) != key, path
        path.write_bytes(original)
    assert source_key(tmp_path) == key


def test_a_file_from_other_sources_or_none_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stored = json.loads(COMPILED_PATH.read_text(encoding="utf-8"))
    with caplog.at_level(logging.WARNING, logger="imagesearch.legal.lexicon_compiled"):
        assert read_compiled(COMPILED_PATH, stored["source_key"]) == stored["lexicons"]
        assert read_compiled(COMPILED_PATH, "0" * 64) is None
        assert read_compiled(tmp_path / "compiled.json", stored["source_key"]) is None
    assert ["does not match its sources" in m for m in caplog.messages] == [True, False]
    assert "is missing" in caplog.messages[1]


def _run(package_root: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_root), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=package_root, env=env, capture_output=True,
                          text=True, timeout=120, check=True)


def test_an_edited_list_blocks_its_new_term_before_the_file_is_rewritten(tmp_path: Path) -> None:
    text = "ein knirpsling im Garten"
    assert not load_text_rule().check(text).blocked
    shutil.copytree(REPO / "imagesearch", tmp_path / "imagesearch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    german = tmp_path / "imagesearch" / "legal" / "lexicons" / "de.yaml"
    german.write_text(german.read_text(encoding="utf-8").replace("\nterms:\n", "\nterms:\n  - knirpsling\n", 1),
                      encoding="utf-8")
    done = _run(tmp_path, "from imagesearch.legal.text_rule import load_text_rule\n"
                          f"print(load_text_rule().check({text!r}))")
    assert "blocked=True, rule='term_de', words=('knirpsling',)" in done.stdout, done.stdout
    assert "does not match its sources" in done.stderr


def test_a_query_reads_only_the_lists_of_its_script() -> None:
    code = ("import sys\nfrom imagesearch.legal.text_rule import load_text_rule\n"
            "from imagesearch.legal import lexicon\n"
            "assert not load_text_rule().check(sys.argv[1]).blocked\n"
            "print(lexicon.load_lexicon.cache_info().currsize)")
    for text, script in (("собака бежит по траве", "cyrillic"), ("a dog runs on the grass", "latin")):
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, "-c", code, text], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=120, check=True)
        assert int(done.stdout) == sum(lexicon_script(lang) == script for lang in LANGUAGES), text
        assert "compiled.json" not in done.stderr
