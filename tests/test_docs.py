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
6. every definition the document cites carries that entry's marker.

Every checker is a pure function of text that returns a list of problems, so
the last tests can show that each one catches a broken input.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
