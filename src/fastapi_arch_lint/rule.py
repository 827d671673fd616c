"""Rules: stable metadata plus one ``check(app)`` generator over the app model.

A rule never touches LibCST. It reads the ``AppModel`` and yields ``Finding``s via
``self.finding(...)``, which fills in the rule's code, name, severity and tags.
Rules register themselves with ``@register``; the registry maps codes to classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi_arch_lint.findings import Confidence, Finding, Fix, Related, Severity

if TYPE_CHECKING:
    from fastapi_arch_lint.model.app import AppModel

PREFIX = "FAL"

CATEGORIES: dict[str, str] = {
    "1": "rest",
    "2": "http",
    "4": "auth",
    "5": "security",
    "6": "async",
    "7": "schema",
    "8": "layering",
}

CATEGORY_TITLES: dict[str, str] = {
    "rest": "REST design",
    "http": "HTTP semantics",
    "auth": "Authentication and access control",
    "security": "Injection, secrets and hardening",
    "async": "Async and blocking calls",
    "schema": "Database schema",
    "layering": "Layering",
}


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    # the other severities the rule may report, each with when (shown by `rules`, `explain` and the page)
    other_severities: ClassVar[Mapping[Severity, str]] = {}
    confidence: ClassVar[Confidence] = Confidence.HIGH
    cwe: ClassVar[tuple[str, ...]] = ()
    owasp: ClassVar[tuple[str, ...]] = ()
    # 0.1-10.0 for SARIF ``security-severity`` (security rules only)
    security_severity: ClassVar[float | None] = None
    # option name -> default value (documented on the rule page under "Options")
    default_options: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        merged = dict(self.default_options)
        merged.update(options or {})
        self.options = merged

    @classmethod
    def severities(cls) -> tuple[Severity, ...]:
        """Every severity the rule reports: its own first, then the others by rank."""
        return (cls.severity, *sorted(cls.other_severities, key=lambda s: -s.rank))

    @classmethod
    def severity_text(cls) -> str:
        """``error`` or ``error (warning when ...)``: what `rules` and the page say it reports."""
        others = "; ".join(f"{s.value} {when}" for s, when in cls.other_severities.items())
        return f"{cls.severity.value} ({others})" if others else cls.severity.value

    @classmethod
    def category(cls) -> str:
        return CATEGORIES.get(cls.code[len(PREFIX)], "misc")

    def check(self, app: AppModel) -> Iterator[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    def finding(
        self,
        path: str,
        line: int,
        col: int,
        message: str,
        *,
        help: str = "",
        end_line: int | None = None,
        end_col: int | None = None,
        related: Iterable[Related] = (),
        entity: str = "",
        severity: Severity | None = None,
        confidence: Confidence | None = None,
        fix: Fix | None = None,
    ) -> Finding:
        return Finding(
            rule=self.code,
            name=self.name,
            severity=severity or self.severity,
            confidence=confidence or self.confidence,
            path=path,
            line=max(line, 1),
            column=max(col, 1),
            end_line=end_line if end_line is not None else max(line, 1),
            end_column=end_col if end_col is not None else max(col, 1),
            message=message,
            help=help,
            cwe=self.cwe,
            owasp=self.owasp,
            related=tuple(related),
            entity=entity,
            fix=fix,
        )


REGISTRY: dict[str, type[Rule]] = {}

_CODE_RE = re.compile(rf"^{PREFIX}[1-9][0-9]{{2}}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def register(cls: type[Rule]) -> type[Rule]:
    if not _CODE_RE.match(cls.code):
        raise ValueError(f"bad rule code {cls.code!r}")
    if not _NAME_RE.match(cls.name):
        raise ValueError(f"bad rule name {cls.name!r}")
    if cls.code in REGISTRY and REGISTRY[cls.code] is not cls:
        raise ValueError(f"duplicate rule code {cls.code}")
    if any(r.name == cls.name for c, r in REGISTRY.items() if c != cls.code):
        raise ValueError(f"duplicate rule name {cls.name}")
    REGISTRY[cls.code] = cls
    return cls


def load_rules() -> dict[str, type[Rule]]:
    """Import every rule module (they register on import)."""
    import fastapi_arch_lint.rules  # noqa: F401  (imports all categories)

    return dict(sorted(REGISTRY.items()))


def by_name_or_code(key: str) -> type[Rule] | None:
    rules = load_rules()
    key_up = key.strip().upper()
    if key_up in rules:
        return rules[key_up]
    for r in rules.values():
        if r.name == key.strip().lower():
            return r
    return None


def matches(selector: str, code: str) -> bool:
    selector = selector.strip().upper()
    return selector == "ALL" or code.startswith(selector)


def is_valid_selector(selector: str) -> bool:
    s = selector.strip().upper()
    if s == "ALL":
        return True
    return any(code.startswith(s) for code in load_rules()) and s.startswith(PREFIX)


def select_rules(
    select: Iterable[str] | None,
    ignore: Iterable[str] = (),
    extend_select: Iterable[str] = (),
) -> list[type[Rule]]:
    """ruff's selection: the most specific selector wins; ignore beats select on a tie."""
    rules = load_rules()
    select = list(select) if select is not None else ["ALL"]
    chosen = []
    for code, cls in rules.items():
        best_sel = max((len(s) if s.upper() != "ALL" else 0 for s in [*select, *extend_select] if matches(s, code)), default=-1)
        best_ign = max((len(s) if s.upper() != "ALL" else 0 for s in ignore if matches(s, code)), default=-1)
        if best_sel >= 0 and best_sel > best_ign:
            chosen.append(cls)
    return chosen


def rule_docs_dir() -> Path | None:
    """Where the rule pages are: inside the installed package, or the repository's ``rules/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_rule_docs", here.parent.parent / "rules"):
        if candidate.is_dir():
            return candidate
    return None


def rule_doc_path(cls: type[Rule]) -> Path | None:
    base = rule_docs_dir()
    if base is None:
        return None
    p = base / cls.category() / f"{cls.code}-{cls.name}.md"
    return p if p.exists() else None


def rule_doc(cls: type[Rule]) -> str | None:
    p = rule_doc_path(cls)
    return p.read_text(encoding="utf-8") if p else None


@dataclass(frozen=True, slots=True)
class DocSections:
    title: str
    sections: dict[str, str]


def doc_sections(text: str) -> DocSections:
    title = ""
    sections: dict[str, str] = {}
    current = None
    buf: list[str] = []
    for line in text.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
            continue
        if line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(buf).strip()
            current = line[3:].strip()
            buf = []
            continue
        buf.append(line)
    if current is not None:
        sections[current] = "\n".join(buf).strip()
    return DocSections(title, sections)


def first_paragraph(text: str) -> str:
    out = []
    for line in text.strip().splitlines():
        if not line.strip():
            if out:
                break
            continue
        out.append(line.strip())
    return " ".join(out)
