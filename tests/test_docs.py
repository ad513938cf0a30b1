"""docs/original.md, the code's Reference markers and the README agree.

The code marks every place that reproduces or changes a behaviour of the
original code with a line ``# Reference: docs/original.md#<anchor>`` (in a
docstring: ``Reference: docs/original.md#<anchor>`` on its own line). These
tests keep the markers, the document and the README from drifting apart, and
keep the repository free of citations of files its users do not have:

1. every marker (and README link) names an anchor of the document;
2. every entry (``###`` heading) is named by a marker or a README link;
3. every capitalised "Reference" in provlae_tf/ is such a marker line;
4. README.md, docs/ and provlae_tf/ cite no workspace-only material;
5. every ``file:name`` and ``tests/file::test`` the document cites exists;
6. every definition the document cites carries that entry's marker;
7. every entry's Original bullet cites lines of the original repository
   (``main.py:36-41``), in files that repository has;
8. every cited line range lies within its file of the original and neither
   starts nor ends on a blank line (read from the original code beside the
   checkout, which only the project's CI has).

Every checker is a pure function of text that returns a list of problems, so
the last tests can show that each one catches a broken input.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Optional

from tests.shared_fixtures import original_code_path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "original.md"
DOC_LINK = "docs/original.md"
README = REPO / "README.md"
PACKAGE = REPO / "provlae_tf"

# The one accepted style: the whole line is the marker (after indentation).
MARKER_LINE = re.compile(
    r"^\s*(?:# )?Reference: docs/original\.md#(?P<anchor>[a-z0-9-]+)\s*$")
# Any capitalised "Reference" must be a marker line.
REFERENCE_WORD = re.compile(r"\bReference\b")
README_LINK = re.compile(r"docs/original\.md#(?P<anchor>[A-Za-z0-9_-]+)")
# Citations of material that only the project's own workspace has.
FORBIDDEN = re.compile(
    r"\.\./shared|\bshared/(?:reference|fixtures)\b|original-code\.md"
    r"|\bpaper\.md\b|§")
CODE_CITATION = re.compile(
    r"`(?P<path>(?:provlae_tf|benchmarks)/[\w/]+\.py):(?P<name>[A-Za-z_][\w.]*)`")
TEST_CITATION = re.compile(
    r"`(?P<path>tests/[\w/]+\.py)::(?P<name>[A-Za-z_]\w*)`")
FENCE = re.compile(r"^\s*(```|~~~)")
# The files of the original repository (Zhiyuan1991/proVLAE at 3e1ec17), by
# their paths in it, as its users see them on GitHub.
ORIGINAL_FILES = frozenset({
    "README.md", "main.py", "utils.py", "data_manager.py",
    "model_ladder_progress.py", "model_ladder_pro_celbA.py", "metric_MIG.py",
    "lib/dist.py", "lib/utils.py", "lib/functions.py", "train_pro-VLAE.sh",
    "visualization.sh", "compute_metric.sh"})
# A citation of the original's lines: `main.py:36-41`, `metric_MIG.py:54`,
# or several ranges of one file, `model_ladder_progress.py:87-88, 98-99`.
ORIGINAL_CITATION = re.compile(
    r"`(?P<path>[^`\s:]+):(?P<ranges>\d+(?:-\d+)?(?:, ?\d+(?:-\d+)?)*)`")
LINE_RANGE = re.compile(r"(?P<first>\d+)(?:-(?P<last>\d+))?")
ORIGINAL_BULLET = re.compile(r"^- \*\*Original\*\*")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")


# ------------------------------------------------------------------ checkers
def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation other than
    ``-`` and ``_`` removed, spaces turned into hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, anchor)`` of every heading outside code blocks, in order;
    repeated anchors get GitHub's ``-1``, ``-2`` suffixes."""
    found, seen, in_fence = [], {}, False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            anchor = github_anchor(match["text"])
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.append((len(match["hashes"]),
                          anchor if count == 0 else f"{anchor}-{count}"))
    return found


def entry_anchors(markdown: str) -> list[str]:
    """Anchors of the document's entries (its ``###`` headings)."""
    return [anchor for level, anchor in headings(markdown) if level == 3]


def markers(text: str) -> list[str]:
    """Anchors named by well-formed Reference markers in ``text``."""
    return [m["anchor"] for m in map(MARKER_LINE.match, text.splitlines())
            if m]


def style_problems(label: str, text: str) -> list[str]:
    """Lines that say ``Reference`` in any other way than the one style."""
    return [f"{label}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if REFERENCE_WORD.search(line) and not MARKER_LINE.match(line)]


def unknown_anchors(label: str, anchors: list[str], known: set) -> list[str]:
    return [f"{label}: #{a} is not an anchor of {DOC_LINK}"
            for a in anchors if a not in known]


def unreferenced(entries: list[str], referenced: set) -> list[str]:
    return [f"{DOC_LINK}#{a}: no Reference marker in provlae_tf/ and no "
            "README link names it" for a in entries if a not in referenced]


def forbidden_mentions(label: str, text: str) -> list[str]:
    return [f"{label}:{number}: {match.group(0)!r} in: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            for match in FORBIDDEN.finditer(line)]


def defined_names(source: str) -> set:
    """Top-level functions, classes and assigned names of a module, and
    ``Class.member`` for what a class body defines."""
    names = set()

    def targets(node):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign)
                           else [node.target]):
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        yield name.id
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                               ast.ClassDef)):
            yield node.name

    for node in ast.parse(source).body:
        names.update(targets(node))
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                names.update(f"{node.name}.{n}" for n in targets(member))
    return names


def definition_spans(source: str) -> dict[str, tuple[int, int]]:
    """``{name: (first line, last line)}`` of what :func:`defined_names`
    lists; the first line includes decorators and the comment lines just
    above the definition."""
    spans = {}
    lines = source.splitlines()

    def span(node):
        first = min([node.lineno]
                    + [d.lineno for d in getattr(node, "decorator_list", [])])
        while first > 1 and lines[first - 2].strip().startswith("#"):
            first -= 1
        return first, node.end_lineno

    def names(node):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign)
                           else [node.target]):
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        yield name.id
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                               ast.ClassDef)):
            yield node.name

    for node in ast.parse(source).body:
        for name in names(node):
            spans[name] = span(node)
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                for name in names(member):
                    spans[f"{node.name}.{name}"] = span(member)
    return spans


def cited_sites(markdown: str) -> list[tuple[str, str, str]]:
    """``(anchor, path, name)`` for every ``file:name`` an entry cites."""
    sites, anchor = [], None
    for line in markdown.splitlines():
        heading = HEADING.match(line)
        if heading and len(heading["hashes"]) == 3:
            anchor = github_anchor(heading["text"])
        elif heading:
            anchor = None
        for m in CODE_CITATION.finditer(line):
            if anchor:
                sites.append((anchor, m["path"], m["name"]))
    return sites


def unmarked_sites(markdown: str, read) -> list[str]:
    """Cited definitions that carry no marker of the citing entry.

    A definition carries a marker when one of its lines (docstring, body,
    or the comment lines directly above it) is that entry's marker line.
    """
    problems = []
    for anchor, path, name in cited_sites(markdown):
        source = read(path)
        spans = {} if source is None else definition_spans(source)
        if name not in spans:
            continue  # missing_citations reports it
        first, last = spans[name]
        lines = source.splitlines()[first - 1:last]
        if anchor not in markers("\n".join(lines)):
            problems.append(f"{path}:{first}: {name} has no line "
                            f"'Reference: {DOC_LINK}#{anchor}'")
    return problems


def missing_citations(markdown: str, read) -> list[str]:
    """Cited ``file:name`` and ``tests/file::test`` that do not exist.

    Args:
        markdown: the document.
        read: ``read(relative_path)`` returns the file's text, or None when
            there is no such file.
    """
    problems, cache = [], {}

    def names_in(path):
        if path not in cache:
            source = read(path)
            cache[path] = None if source is None else defined_names(source)
        return cache[path]

    cited = [(m["path"], m["name"], m.group(0))
             for pattern in (CODE_CITATION, TEST_CITATION)
             for m in pattern.finditer(markdown)]
    for path, name, text in cited:
        names = names_in(path)
        if names is None:
            problems.append(f"{text}: no file {path}")
        elif name not in names:
            problems.append(f"{text}: {path} defines no {name}")
    return problems


def _entry_lines(markdown: str):
    """``(anchor, line)`` of every line outside code blocks; the anchor is
    the entry (``###`` heading) the line belongs to, or None."""
    anchor, in_fence = None, False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        heading = None if in_fence else HEADING.match(line)
        if heading:
            anchor = (github_anchor(heading["text"])
                      if len(heading["hashes"]) == 3 else None)
        yield anchor, line


def original_citations(markdown: str
                       ) -> list[tuple[Optional[str], str, int, int, str]]:
    """``(anchor, path, first, last, citation)`` for every line range of
    every citation of the original (anchor None outside entries)."""
    found = []
    for anchor, line in _entry_lines(markdown):
        for m in ORIGINAL_CITATION.finditer(line):
            for r in LINE_RANGE.finditer(m["ranges"]):
                first = int(r["first"])
                last = int(r["last"] or first)
                found.append((anchor, m["path"], first, last, m.group(0)))
    return found


def original_bullets(markdown: str) -> dict[str, Optional[str]]:
    """``{anchor: its Original bullet's text, or None}`` for every entry.

    A bullet runs from its ``- **Original**`` line to the next line that is
    neither blank nor indented (the next bullet, heading or paragraph).
    """
    bullets: dict[str, Optional[list]] = {}
    current = None
    previous = None
    for anchor, line in _entry_lines(markdown):
        if anchor != previous:
            previous, current = anchor, None
            if anchor is not None:
                bullets.setdefault(anchor, None)
            continue
        if anchor is None:
            continue
        if ORIGINAL_BULLET.match(line):
            current = [line]
            bullets[anchor] = current
        elif current is not None:
            if line and not line[0].isspace():
                current = None
            else:
                current.append(line)
    return {a: None if b is None else "\n".join(b)
            for a, b in bullets.items()}


def uncited_original_bullets(markdown: str) -> list[str]:
    """Entries without an Original bullet, or whose bullet cites no line of
    the original."""
    problems = []
    for anchor, bullet in original_bullets(markdown).items():
        if bullet is None:
            problems.append(f"#{anchor}: no **Original** bullet")
        elif not ORIGINAL_CITATION.search(bullet):
            problems.append(f"#{anchor}: its **Original** bullet cites no "
                            "line of the original (`main.py:36-41`)")
    return problems


def unknown_original_files(markdown: str) -> list[str]:
    """Citations of a file the original repository does not have (or not
    by its path in that repository)."""
    seen, problems = set(), []
    for _, path, _, _, text in original_citations(markdown):
        if path not in ORIGINAL_FILES and text not in seen:
            seen.add(text)
            problems.append(f"{text}: {path} is not a file of the original "
                            "repository")
    return problems


def bad_original_lines(markdown: str, read) -> list[str]:
    """Cited line ranges that the original's file does not have, or that
    start or end on a blank line.

    Args:
        markdown: the document.
        read: ``read(path)`` returns the text of the original's file at
            ``path`` (relative to its repository), or None.
    """
    problems, cache = [], {}
    for _, path, first, last, text in original_citations(markdown):
        if path not in cache:
            source = read(path)
            cache[path] = None if source is None else source.splitlines()
        lines = cache[path]
        where = f"{text} ({first}-{last})" if first != last else \
            f"{text} ({first})"
        if lines is None:
            problems.append(f"{where}: the original has no file {path}")
        elif first < 1 or last < first:
            problems.append(f"{where}: not a line range")
        elif last > len(lines):
            problems.append(f"{where}: {path} has {len(lines)} lines")
        else:
            for number in sorted({first, last}):
                if not lines[number - 1].strip():
                    problems.append(f"{where}: line {number} of {path} is "
                                    "blank")
    return problems


# -------------------------------------------------------------- repository
def read_repo_file(relative: str):
    path = REPO / relative
    return path.read_text(encoding="utf-8") if path.is_file() else None


def package_files() -> dict[str, str]:
    return {str(p.relative_to(REPO)): p.read_text(encoding="utf-8")
            for p in sorted(PACKAGE.rglob("*.py"))}


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the tests
def test_every_marker_names_an_anchor_of_the_document():
    known = {anchor for _, anchor in headings(doc_text())}
    problems = [p for label, text in package_files().items()
                for p in unknown_anchors(label, markers(text), known)]
    readme = README.read_text(encoding="utf-8")
    problems += unknown_anchors(
        "README.md", [m["anchor"] for m in README_LINK.finditer(readme)],
        known)
    assert not problems, "\n".join(problems)


def test_every_entry_is_referenced_by_the_code_or_the_readme():
    referenced = {a for text in package_files().values() for a in markers(text)}
    referenced |= {m["anchor"] for m in README_LINK.finditer(
        README.read_text(encoding="utf-8"))}
    entries = entry_anchors(doc_text())
    assert len(entries) >= 30
    problems = unreferenced(entries, referenced)
    assert not problems, "\n".join(problems)


def test_reference_comments_use_the_one_style():
    problems = [p for label, text in package_files().items()
                for p in style_problems(label, text)]
    assert not problems, "\n".join(problems)


def test_no_citation_of_material_users_do_not_have():
    texts = {"README.md": README.read_text(encoding="utf-8"),
             **{str(p.relative_to(REPO)): p.read_text(encoding="utf-8")
                for p in sorted((REPO / "docs").rglob("*.md"))},
             **package_files()}
    problems = [p for label, text in texts.items()
                for p in forbidden_mentions(label, text)]
    assert not problems, "\n".join(problems)


def test_cited_code_and_tests_exist():
    markdown = doc_text()
    assert len(CODE_CITATION.findall(markdown)) >= 40
    assert len(TEST_CITATION.findall(markdown)) >= 40
    problems = missing_citations(markdown, read_repo_file)
    assert not problems, "\n".join(problems)


def test_every_cited_definition_carries_its_entry_marker():
    problems = unmarked_sites(doc_text(), read_repo_file)
    assert not problems, "\n".join(problems)


def test_every_original_bullet_cites_the_original():
    markdown = doc_text()
    assert len(original_citations(markdown)) >= 150
    problems = (uncited_original_bullets(markdown)
                + unknown_original_files(markdown))
    assert not problems, "\n".join(problems)


def test_cited_lines_of_the_original_exist():
    root = original_code_path()

    def read(relative: str):
        path = root / relative
        return path.read_text(encoding="utf-8") if path.is_file() else None

    problems = bad_original_lines(doc_text(), read)
    assert not problems, "\n".join(problems)


# ------------------------------------------------- the checkers can fail
BROKEN_DOC = """# Title
### kept-entry
```
### not-a-heading-inside-a-fence
```
### orphan-entry
- `provlae_tf/x.py:gone`, `provlae_tf/y.py:Thing.missing`
- `tests/test_x.py::test_gone`
"""


def test_anchor_rules_follow_github():
    assert github_anchor("Visual outputs (`--mode=2`)") == \
        "visual-outputs---mode2"
    assert github_anchor("frozen-batch-norm") == "frozen-batch-norm"
    assert headings("# A\n## A\n```\n# B\n```\n") == [(1, "a"), (2, "a-1")]
    assert entry_anchors(BROKEN_DOC) == ["kept-entry", "orphan-entry"]


def test_a_marker_with_an_unknown_anchor_is_caught():
    text = "x = 1\n# Reference: docs/original.md#no-such-entry\n"
    assert markers(text) == ["no-such-entry"]
    assert unknown_anchors("m.py", markers(text), {"kept-entry"})
    assert not unknown_anchors("m.py", ["kept-entry"], {"kept-entry"})


def test_an_entry_nothing_refers_to_is_caught():
    assert unreferenced(entry_anchors(BROKEN_DOC), {"kept-entry"}) == [
        f"{DOC_LINK}#orphan-entry: no Reference marker in provlae_tf/ and no "
        "README link names it"]


def test_other_reference_styles_are_caught():
    good = ('    # Reference: docs/original.md#fade-in\n'
            '    Reference: docs/original.md#fade-in\n')
    assert style_problems("m.py", good) == []
    for bad in ("# Reference: the original clips here.",
                "x = 1  # Reference: docs/original.md#fade-in",
                "# Reference §7: beta powers",
                "    Reference: docs/original.md#fade-in, and more"):
        assert len(style_problems("m.py", bad)) == 1, bad


def test_forbidden_citations_are_caught():
    for bad in ("see ../shared/fixtures/tf1_dsprites",
                "(original-code.md section 8)", "as in §4",
                "see shared/reference/datasets.md", "(paper.md: dlib)"):
        assert forbidden_mentions("f", bad), bad
    assert forbidden_mentions("f", "see docs/original.md#mnist") == []


def test_missing_code_and_tests_are_caught():
    files = {"provlae_tf/y.py": "class Thing:\n    def there(self):\n"
                                "        pass\nCONSTANT = 1\n",
             "tests/test_x.py": "def test_there():\n    pass\n"}
    problems = missing_citations(BROKEN_DOC, files.get)
    assert problems == [
        "`provlae_tf/x.py:gone`: no file provlae_tf/x.py",
        "`provlae_tf/y.py:Thing.missing`: provlae_tf/y.py defines no "
        "Thing.missing",
        "`tests/test_x.py::test_gone`: tests/test_x.py defines no test_gone"]
    fine = ("`provlae_tf/y.py:Thing.there` `provlae_tf/y.py:CONSTANT` "
            "`tests/test_x.py::test_there`")
    assert missing_citations(fine, files.get) == []


def test_a_cited_definition_without_its_marker_is_caught():
    source = ("# Reference: docs/original.md#kept-entry\n"
              "def marked():\n    pass\n\n\n"
              "def unmarked():\n"
              "    # Reference: docs/original.md#other-entry\n"
              "    pass\n\n\n"
              "class Box:\n"
              "    def method(self):\n"
              "        \"\"\"Does it.\n\n"
              "        Reference: docs/original.md#kept-entry\n"
              "        \"\"\"\n")
    doc = ("### kept-entry\n- `provlae_tf/m.py:marked`, "
           "`provlae_tf/m.py:unmarked`, `provlae_tf/m.py:Box.method`\n")
    assert unmarked_sites(doc, {"provlae_tf/m.py": source}.get) == [
        "provlae_tf/m.py:6: unmarked has no line "
        "'Reference: docs/original.md#kept-entry'"]


BROKEN_CITATIONS = """# Title
`main.py:1` outside any entry.
### cites
- **Original**: does it (`main.py:2-3`, `lib/dist.py:1, 4`).

  | a table | inside the bullet |
- **provlae_tf**: the same (`main.py:9`).
### no-citation
- **Original**: does it somewhere in
  main.py.
- **provlae_tf**: cites `main.py:1` here only.
### no-bullet
- **provlae_tf**: an entry without its Original bullet.
### wrong-files
- **Original**: `../shared/original/main.py:1`, `Main.py:1`,
  `main.py:0`, `main.py:3-2`.
"""
ORIGINAL_TEXTS = {"main.py": "line one\n\nline three\n",
                  "lib/dist.py": "a\nb\nc\nd\n"}


def test_original_citations_are_parsed_per_range_and_entry():
    found = original_citations(BROKEN_CITATIONS)
    assert found[:4] == [
        (None, "main.py", 1, 1, "`main.py:1`"),
        ("cites", "main.py", 2, 3, "`main.py:2-3`"),
        ("cites", "lib/dist.py", 1, 1, "`lib/dist.py:1, 4`"),
        ("cites", "lib/dist.py", 4, 4, "`lib/dist.py:1, 4`")]
    bullets = original_bullets(BROKEN_CITATIONS)
    assert bullets["no-bullet"] is None
    assert bullets["cites"].endswith("| a table | inside the bullet |")
    assert "main.py:9" not in bullets["cites"]


def test_an_original_bullet_without_a_citation_is_caught():
    assert uncited_original_bullets(BROKEN_CITATIONS) == [
        "#no-citation: its **Original** bullet cites no line of the "
        "original (`main.py:36-41`)",
        "#no-bullet: no **Original** bullet"]


def test_a_file_the_original_lacks_is_caught():
    assert unknown_original_files(BROKEN_CITATIONS) == [
        "`../shared/original/main.py:1`: ../shared/original/main.py is not "
        "a file of the original repository",
        "`Main.py:1`: Main.py is not a file of the original repository"]


def test_lines_the_original_lacks_or_blank_lines_are_caught():
    assert bad_original_lines(BROKEN_CITATIONS, ORIGINAL_TEXTS.get) == [
        "`main.py:2-3` (2-3): line 2 of main.py is blank",
        "`main.py:9` (9): main.py has 3 lines",
        "`../shared/original/main.py:1` (1): the original has no file "
        "../shared/original/main.py",
        "`Main.py:1` (1): the original has no file Main.py",
        "`main.py:0` (0): not a line range",
        "`main.py:3-2` (3-2): not a line range"]
    fine = ("### e\n- **Original**: `main.py:1, 3`, `main.py:1-3`, "
            "`lib/dist.py:2-4`.\n")
    assert bad_original_lines(fine, ORIGINAL_TEXTS.get) == []
    assert uncited_original_bullets(fine) == []
    assert unknown_original_files(fine) == []
