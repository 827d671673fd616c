"""Every rule has a page under rules/, and every page's examples run as tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import review
from fastapi_arch_lint.rule import CATEGORIES, CATEGORY_TITLES, load_rules, rule_docs_dir
from ruledocs import page_cases

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "rules"
RULES = load_rules()
REQUIRED = ("What it does", "Why is this bad?", "Example", "Use instead")


def _pages() -> dict[str, Path]:
    return {p.name.split("-", 1)[0]: p for p in sorted(DOCS.glob("*/*.md"))}


def test_registry_and_pages_match_one_to_one() -> None:
    pages = _pages()
    assert sorted(pages) == sorted(RULES), "rules without pages or pages without rules"
    for code, cls in RULES.items():
        p = pages[code]
        assert p.name == f"{code}-{cls.name}.md", p
        assert p.parent.name == cls.category(), f"{p} should be under rules/{cls.category()}/"


def test_every_category_has_rules_a_title_and_a_folder() -> None:
    used = {cls.category() for cls in RULES.values()}
    assert used == set(CATEGORIES.values()), "a category without rules, or a rule without a category"
    assert set(CATEGORY_TITLES) == used
    assert {p.name for p in DOCS.iterdir() if p.is_dir()} == used


def test_docs_dir_is_the_repository_rules_folder_or_packaged() -> None:
    assert rule_docs_dir() is not None


@pytest.mark.parametrize("code", sorted(RULES))
def test_page_structure(code: str) -> None:
    cls = RULES[code]
    text = _pages()[code].read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# {code} {cls.name}"
    for section in REQUIRED:
        assert f"\n## {section}\n" in text, f"{code}: missing section {section!r}"
    if cls.cwe or cls.owasp:
        assert "## References" in text, f"{code}: security tags but no References section"
    for opt in cls.default_options:
        assert f"`{opt}`" in text, f"{code}: option {opt!r} not documented"
    # the page says the severities the rule reports, its own first (`rules` prints the same)
    sev_line = text.splitlines()[2]
    assert sev_line.startswith(f"Severity: {cls.severity.value}"), f"{code}: page says {sev_line!r}"
    for other in cls.other_severities:
        assert other.value in sev_line.split("·")[0], f"{code}: page does not say it may report {other.value}"


@pytest.mark.parametrize("code", sorted(RULES))
def test_page_examples(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = _pages()[code]
    cases = page_cases(page)
    assert [c.section for c in cases][:2] == ["Example", "Use instead"]
    for case in cases:
        root = tmp_path / case.section.replace(" ", "_")
        for name, text in case.files.items():
            f = root / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text, encoding="utf-8")
        monkeypatch.chdir(root)
        result = review(["."], Config(root=root), select=[code])
        assert not [d for d in result.diagnostics], f"{code} {case.section}: {result.diagnostics}"
        got = {(f.path, f.line, f.rule) for f in result.findings if f.rule == code}
        wrong_sev = [(f.line, f.severity.value) for f in result.findings if f.rule == code
                     and f.severity not in RULES[code].severities()]
        assert not wrong_sev, f"{code} reports a severity `rules` does not list: {wrong_sev}"
        want = {e for e in case.expect if e[2] == code} | {e for e in case.todo_ok if e[2] == code}
        if case.section in ("Example", "Misreadings"):
            # a misreading stays quiet beside its true twin, which must still fire
            assert any(e[2] == code for e in case.expect), f"{code}: the {case.section} has no `# expect: {code}` line"
        else:
            assert not any(e[2] == code for e in case.expect), f"{code}: `# expect:` in Use instead"
        missing = sorted(want - got)
        extra = sorted(got - want)
        messages = {(f.path, f.line): f.message for f in result.findings}
        assert not missing and not extra, (
            f"{code} {case.section}: missing {missing}, unexpected "
            f"{[(e, messages.get(e[:2])) for e in extra]}"
        )
        still_missed = {e for e in case.todo_expect if e[2] == code} & got
        assert not still_missed, f"{code}: todo-expect now flagged, make it `# expect:` {sorted(still_missed)}"


def _fixable_codes() -> set[str]:
    """The rules whose module builds a ``Fix``."""
    import inspect

    return {code for code, cls in RULES.items() if "Fix(" in inspect.getsource(inspect.getmodule(cls))}


def test_fixable_rules_and_fix_sections_match() -> None:
    with_section = {code for code, page in _pages().items() if "\n## Fix\n" in page.read_text(encoding="utf-8")}
    assert with_section == _fixable_codes(), "a rule with a fix and no `## Fix` section on its page, or the reverse"


@pytest.mark.parametrize("code", sorted(_fixable_codes()))
def test_page_fix(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix applied to "Before" gives exactly "After", which parses, no longer has the finding, and
    fixing again changes nothing; the page says safe or unsafe as the rule does."""
    from fastapi_arch_lint.engine import fix_findings
    from ruledocs import fix_case

    case = fix_case(_pages()[code])
    assert case is not None and case.before and sorted(case.before) == sorted(case.after), code
    for name, text in case.before.items():
        f = tmp_path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    findings = review(["."], Config(root=tmp_path), select=[code]).findings
    fixable = [f for f in findings if f.rule == code and f.fix is not None]
    assert fixable, f"{code}: no fixable finding in the Fix section's Before"
    assert {f.fix.safe for f in fixable} == {case.safe}, f"{code}: the page and the rule disagree on safe/unsafe"
    done = fix_findings(fixable, unsafe=True, write=True)
    assert not done.skipped and not done.problems, (done.skipped, done.problems)
    for name, want in case.after.items():
        got = (tmp_path / name).read_text(encoding="utf-8")
        assert got == want, f"{code}: {name} after the fix:\n{got}"
        compile(got, name, "exec")
    again = review(["."], Config(root=tmp_path), select=[code]).findings
    left = {f.entity for f in again if f.rule == code and f.fix is not None}
    assert not left & {f.entity for f in fixable}, f"{code}: still reported after the fix: {left}"
    assert not fix_findings(again, unsafe=True, write=True).files, f"{code}: fixing twice changed the files"
    # the same edits again (where the lines did not move) change nothing either
    assert not fix_findings(fixable, unsafe=True, write=False).files, f"{code}: the fix is not idempotent"
