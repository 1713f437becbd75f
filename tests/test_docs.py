"""The documentation stays true: every public name documented, every page example run.

* Every name of ``symnet.__all__`` has a docstring, an ``Examples`` section with at
  least one ``>>>`` doctest (run by ``--doctest-modules``), and an entry in the API
  reference, which ``docs/gen_api.py`` generates from ``__all__`` at each build.
* Every ``>>>`` example on every page under ``docs/pages/`` is executed here and
  its printed output compared with the page; a fenced Python block without
  ``>>>`` (code nobody runs) is refused.
* The install commands on the Getting started page are the README's, which CI runs.

The strict site build itself (broken links, unresolved entries) is ``python
docs/build.py``, run by ``.ci/run``; it needs the ``docs`` extra, these tests do not.
"""

import doctest
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

import symnet
from symnet.graph import activations as activations

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES_DIR = DOCS / "pages"
PAGES = sorted(PAGES_DIR.rglob("*.md"))

# A numpydoc "Examples" heading: the word, then a line of dashes.
EXAMPLES_HEADING = re.compile(r"^[ \t]*Examples[ \t]*\n[ \t]*-{3,}[ \t]*$", re.MULTILINE)
# Any other numpydoc heading ends the Examples section.
NEXT_HEADING = re.compile(r"^[ \t]*[A-Z][A-Za-z ]+[ \t]*\n[ \t]*-{3,}[ \t]*$", re.MULTILINE)
FENCE = re.compile(r"^```[ \t]*([\w+-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _load(name):
    spec = importlib.util.spec_from_file_location(f"symnet_docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_api = _load("gen_api")


def examples_section(doc):
    """The text of a numpydoc Examples section ('' when there is none)."""
    match = EXAMPLES_HEADING.search(doc)
    if not match:
        return ""
    rest = doc[match.end():]
    following = NEXT_HEADING.search(rest)
    return rest[:following.start()] if following else rest


def documentation_problems(name, obj, api_page):
    """What is missing from the documentation of ``symnet.<name>`` (a list of phrases)."""
    problems = []
    has_own_doc = inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj)
    doc = (inspect.getdoc(obj) or "") if has_own_doc else ""
    if not doc.strip():
        problems.append("no docstring")
    elif not examples_section(doc):
        problems.append("no Examples section")
    elif not re.search(r"^\s*>>> ", examples_section(doc), re.MULTILINE):
        problems.append("no >>> doctest in its Examples section")
    if f"::: {gen_api.target(name)}\n" not in api_page:
        problems.append("no entry in the API reference")
    return problems


def test_the_documentation_check_catches_each_gap(monkeypatch):
    # The check itself, on planted gaps (an oracle independent of symnet's docstrings).
    def no_doc():
        pass

    def no_examples():
        """Summary only."""

    def examples_without_doctest():
        """Summary.

        Examples
        --------
        Call it.

        Parameters
        ----------
        >>> this doctest sits in another section
        """

    def complete():
        """Summary.

        Examples
        --------
        >>> 1 + 1
        2
        """

    page = "::: symnet.complete\n"
    monkeypatch.setattr(gen_api, "target", lambda name: f"symnet.{name}")
    assert documentation_problems("no_doc", no_doc, page) == [
        "no docstring", "no entry in the API reference"]
    assert documentation_problems("no_examples", no_examples, page)[0] == "no Examples section"
    assert documentation_problems("x", examples_without_doctest, page)[0] == (
        "no >>> doctest in its Examples section")
    assert documentation_problems("complete", complete, page) == []
    assert documentation_problems("a_number", 3.5, page)[0] == "no docstring"


def test_every_public_name_has_docstring_examples_and_api_entry():
    api_page = gen_api.api_page()
    report = []
    for name in symnet.__all__:
        problems = documentation_problems(name, getattr(symnet, name), api_page)
        if problems:
            report.append(f"symnet.{name}: {', '.join(problems)}")
    assert not report, (f"{len(report)} public name(s) not fully documented:\n  "
                        + "\n  ".join(report))


def test_api_reference_lists_exactly_the_public_names():
    page = gen_api.api_page()
    entries = re.findall(r"^::: (\S+)$", page, re.MULTILINE)
    assert sorted(entries) == sorted(gen_api.target(name) for name in symnet.__all__)
    # The summary table links every name too.
    for name in symnet.__all__:
        assert f"[`symnet.{name}`]" in page


def test_mkdocs_nav_has_every_page_and_the_api_reference():
    config = (DOCS / "mkdocs.yml").read_text()
    nav = config[config.index("\nnav:"):]
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, re.MULTILINE))
    on_disk = {str(page.relative_to(PAGES_DIR)) for page in PAGES}
    assert on_disk <= listed, f"pages missing from the nav: {sorted(on_disk - listed)}"
    assert listed - on_disk == {"api.md"}, "the nav lists pages that do not exist"


def _readme_command(marker):
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index(marker)
    return lines[start + 2]  # marker, fence, command


@pytest.mark.parametrize("marker", ["<!-- main-command -->", "<!-- test-command -->"])
def test_getting_started_install_commands_are_the_readmes(marker):
    command = _readme_command(marker)
    assert command.startswith("python -m pip install")
    assert command in (PAGES_DIR / "getting-started.md").read_text()


# Repository paths the pages name in backticks, e.g. `benchmarks/bench_core.py`, `lessons/`.
REPO_PATH = re.compile(r"\b((?:benchmarks|docs|lessons|tests|symnet)/[\w./-]*)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PAGES_DIR)))
def test_repository_paths_named_on_pages_exist(page):
    named = {path.rstrip(".") for path in REPO_PATH.findall(page.read_text())}
    missing = sorted(path for path in named if not (REPO / path).exists()
                     and not path.startswith("lessons/notebooks"))  # made by make_notebooks.py
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PAGES_DIR)))
def test_python_code_blocks_are_doctests(page):
    for language, body in FENCE.findall(page.read_text()):
        if language in ("python", "py", "pycon", ""):
            assert ">>> " in body, (f"{page.name}: a ```{language} block without >>> "
                                    f"is never run; write it as a doctest:\n{body}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PAGES_DIR)))
def test_page_examples_run_and_print_what_the_page_says(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    # Activations a page registers stay on that page: later tests see the table as it was.
    monkeypatch.setattr(activations, "_CUSTOM", dict(activations._CUSTOM))
    text = page.read_text()
    test = doctest.DocTestParser().get_doctest(text, {"__name__": "__docs__"}, page.name,
                                               str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
