"""Findings and diagnostics: what the tool reports. Standard library only."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Confidence(str, enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Related:
    """Another place that explains a finding (the include that set a prefix, ...)."""

    path: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Edit:
    """One change of a fix, as data: what to do at the model's position ``path:line:column``
    (the position of a call, of a decorator, of an assignment's target or of a parameter). The
    rule describes it; ``extract/fix.py`` finds the node there and makes the change.

    ``kind``:
    - ``"keyword"``: give the call at the position (a call, the call of a decorator, or the call
      assigned to the name there) the keyword argument ``name=value`` (``value`` is source text),
      replacing the value it has (``timeout=None``) when it already has the keyword;
    - ``"wrap-default"``: the parameter ``name`` of the function defined at the position has the
      plain default ``d``; make it ``value.format(d)`` (``Query({}, le=100)``);
    - ``"move-to-decorator"``: remove the parameter ``name`` of the function defined at the
      position and give its route decorator (the one at ``to_line``) the keyword ``name=`` with
      the parameter's default as its value.

    For the last two the position is the parameter's.
    """

    kind: str
    path: str
    line: int
    column: int
    name: str
    value: str = ""
    to_line: int = 0
    # the called function as written (``requests.get``): tells apart calls that start at the same
    # place (``requests.get(url).json()``)
    callee: str = ""


@dataclass(frozen=True, slots=True)
class Fix:
    """How to fix a finding: ``edits`` in one file, and the ``imports`` they need (``(module, name)``:
    ``from module import name``). ``safe`` fixes keep the program's behaviour; the others (a status code,
    a timeout, a bound, an index) change it and are applied only with ``--unsafe-fixes``."""

    description: str
    edits: tuple[Edit, ...]
    safe: bool = False
    imports: tuple[tuple[str, str], ...] = ()

    @property
    def applicability(self) -> str:
        return "safe" if self.safe else "unsafe"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    confidence: Confidence
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    help: str = ""
    cwe: tuple[str, ...] = ()
    owasp: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    # a line-independent identity of what was flagged (route, model field, call...),
    # used by baselines and fingerprints
    entity: str = ""
    # the fix a rule knows for it (``Fix``), or None
    fix: Fix | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem with the input itself (a file that does not parse, a bad path...), or, with
    ``kind`` ``"unresolved"``, the one line about what the model could not resolve statically
    (``model.unresolved``): ``count`` items, ``routes`` routes they may misplace or leave without
    their auth, ``locations`` where each item is. It is not a finding and never changes the exit code."""

    path: str
    message: str
    kind: str = "error"
    count: int = 0
    routes: int = 0
    locations: tuple[Related, ...] = ()

    @property
    def is_note(self) -> bool:
        """About the model (``kind == "unresolved"``), not a file that could not be analyzed."""
        return self.kind == "unresolved"


def split_diagnostics(diagnostics: Sequence[Diagnostic]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """``(files not analyzed or internal errors, notes about the model)``."""
    problems = [d for d in diagnostics if not d.is_note]
    notes = [d for d in diagnostics if d.is_note]
    return problems, notes


@dataclass(slots=True)
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
