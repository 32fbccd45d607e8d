"""The documentation stays navigable: links resolve, code comments point at real headings.

- every relative link in README.md and docs/*.md names an existing file and, with a ``#anchor``,
  a heading of that file (GitHub's slug of the heading);
- every reference from code and config comments to a document, written as the document's path,
  a comma and the heading in double quotes (for a README section: ``README.md`` or ``README``),
  names an existing file and a heading of it; a bare mention of a page under docs/ names a file
  that exists;
- README.md is a front page: at most 200 lines.

Plain text only (no package imports), so it belongs to the fast tier.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCUMENTS = [README, *sorted((REPO / "docs").glob("*.md"))]
MAX_README_LINES = 200

# Where code and config comments may point at a document.
COMMENT_SOURCES = ["imagesearch/**/*.py", "stages/*.py", "benchmarks/*.py", "tests/*.py", "Makefile",
                   "dvc.yaml", "params.yaml", "pyproject.toml", ".ci/run"]

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# `docs/page.md, "Heading"` or `README.md, "Heading"` / `README, "Heading"`; in YAML or a
# Makefile the quoted heading may continue on the next comment line.
REFERENCE = re.compile(r"(?<![\w/.-])(README(?:\.md)?|docs/[\w.-]+\.md),\s*(?:#\s*)?\"([^\"\n]+)\"")
PAGE_MENTION = re.compile(r"(?<![\w/.-])docs/[\w.-]+\.md")


def prose_lines(text: str) -> list[str]:
    """The lines of a markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def headings(path: Path) -> list[str]:
    """Heading texts of a markdown file, in order."""
    return [m.group(2) for line in prose_lines(path.read_text()) if (m := HEADING.match(line))]


def plain(heading: str) -> str:
    """A heading as it reads: code spans and link syntax reduced to their text."""
    heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return heading.replace("`", "").replace("**", "").strip()


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation other than - and _ dropped, spaces -> -."""
    text = plain(heading).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path):
        base = slug(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


def links(path: Path) -> list[str]:
    targets = []
    for line in prose_lines(path.read_text()):
        line = re.sub(r"`[^`]*`", "", line)  # a link inside a code span is not a link
        targets += LINK.findall(line)
    return targets


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target))


def shown(path: Path) -> str:
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in links(path):
        if is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        where = f"{shown(path)}: ({target})"
        if not linked.exists():
            problems.append(f"{where}: no file {file_part}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{where}: {shown(linked)} has no heading with anchor #{anchor}")
    return problems


def comment_sources() -> list[Path]:
    files = {path for pattern in COMMENT_SOURCES for path in REPO.glob(pattern) if path.is_file()}
    return sorted(files - {Path(__file__).resolve()})


def code_references() -> list[tuple[str, str, str]]:
    """(where, document, heading) of every reference to a document's heading in code and config."""
    found = []
    for path in comment_sources():
        text = path.read_text(errors="replace")
        for match in REFERENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            document = "README.md" if match.group(1) == "README" else match.group(1)
            found.append((f"{path.relative_to(REPO)}:{line}", document, match.group(2)))
    return found


def test_the_readme_is_a_front_page() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve_to_a_file_and_heading(document: Path) -> None:
    problems = broken_links(document)
    assert not problems, "\n".join(problems)


def test_code_comments_point_at_real_headings() -> None:
    references = code_references()
    assert len(references) >= 5, f"found only {references}: has the reference form changed?"
    problems = []
    for where, document, heading in references:
        path = REPO / document
        if not path.is_file():
            problems.append(f"{where}: no file {document}")
        elif heading not in {plain(h) for h in headings(path)} | set(headings(path)):
            problems.append(f'{where}: {document} has no heading "{heading}"')
    assert not problems, "\n".join(problems)


def test_pages_named_in_code_exist() -> None:
    problems = [f"{path.relative_to(REPO)}: {name}" for path in comment_sources()
                for name in PAGE_MENTION.findall(path.read_text(errors="replace"))
                if not (REPO / name).is_file()]
    assert not problems, "\n".join(problems)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The link and slug rules reject what they should (so a green run means something)."""
    assert slug("Search over a million images (`imagesearch/serving/two_stage.py`)") == \
        "search-over-a-million-images-imagesearchservingtwo_stagepy"
    assert slug("Vision–language encoders") == "visionlanguage-encoders"
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A section\n\n[ok](#a-section) [bad](#no-such) [gone](missing.md)\n"
                    "```\n[in code](#ignored)\n```\n")
    problems = broken_links(page)
    assert len(problems) == 2 and "#no-such" in problems[0] and "missing.md" in problems[1]
    match = REFERENCE.search('x (README,\n  # "Queries in Russian") y')
    assert match and match.group(2) == "Queries in Russian"
