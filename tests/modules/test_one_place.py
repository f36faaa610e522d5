"""One question, one place: each module file ends with its ordered QUESTIONS; every hidden test
calls the question's own helpers from lib/cache_course (no assertion logic of its own), and the
visible checks call at least one of the same helpers, so the two cannot drift apart."""

from __future__ import annotations

import ast
import importlib
import re

import pytest
from modules_harness import code_cells

from coursekit.questions import all_modules

MODULES = ["00_orientation", "01_lru", "02_stampede", "03_hol_blocking", "06_incident", "07_afterwards"]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _content(module_id: str):
    return importlib.import_module(f"cache_course.m{module_id}")


@pytest.mark.parametrize("module_id", MODULES)
def test_module_file_ends_with_its_ordered_questions(module_id):
    pymod = _content(module_id)
    assert pymod.MODULE.questions is pymod.QUESTIONS
    assert [m.id for m in all_modules()] == MODULES
    answer_cells = [gid for gid, _ in code_cells(module_id) if gid and gid in pymod.MODULE.question_ids]
    assert answer_cells == pymod.MODULE.question_ids, "the notebook asks the questions in the registry's order"


def _helpers_called_by(check) -> set[str]:
    return {n for n in check.__code__.co_names if n.startswith("assert_")}


def _hidden_calls(block: str, module_id: str) -> tuple[set[str], list[str]]:
    """(content helpers the hidden block calls, its top-level statements that are not helper calls)."""
    tree = ast.parse(block)
    aliases: dict[str, str] = {}  # local name -> helper name, or "module:" prefix for a question module
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.module and node.module.startswith("cache_course."), ast.unparse(node)
            for a in node.names:
                aliases[a.asname or a.name] = a.name if a.name.startswith("assert_") else "module:"
    called, other = set(), []

    def calls_in(node) -> set[str]:
        found = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                f = sub.func
                if isinstance(f, ast.Name) and aliases.get(f.id, "").startswith("assert_"):
                    found.add(aliases[f.id])
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and aliases.get(f.value.id) == "module:":
                    found.add(f.attr)
        return found

    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            continue
        found = calls_in(node)
        if not found or any(isinstance(sub, (ast.Assert, ast.Raise)) for sub in ast.walk(node)):
            other.append(ast.unparse(node).splitlines()[0])
        called |= found
    return called, other


@pytest.mark.parametrize("module_id", MODULES)
def test_hidden_tests_call_the_questions_own_helpers(module_id):
    pymod = _content(module_id)
    cells = dict(code_cells(module_id))
    for q in pymod.MODULE.questions:
        if q.kind != "code":
            continue
        match = HIDDEN.search(cells[f"test_{q.id}"])
        assert match, f"{q.id}: no hidden tests"
        called, other = _hidden_calls(match.group(1), module_id)
        assert not other, f"{q.id}: hidden statements that are not calls of the question's helpers: {other}"
        visible = set().union(*(_helpers_called_by(c) for c in q.checks))
        assert called & visible, f"{q.id}: the visible checks call none of the hidden tests' helpers {sorted(called)}"
        labels = [ln for ln in match.group(1).splitlines() if ln.lstrip().startswith("# about:")]
        assert labels, f"{q.id}: hidden parts need `# about:` labels"
