"""Read one file, parse it with LibCST and collect its facts, or say why not.

Every failure (unreadable file, NUL bytes, bad encoding, syntax error, a file
too large, a parser that gives up on deep nesting) becomes a ``Diagnostic``
naming the file; nothing here raises for bad input.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from fastapi_arch_lint import __version__
from fastapi_arch_lint.extract.collect import Collector
from fastapi_arch_lint.findings import Diagnostic
from fastapi_arch_lint.model.facts import ModuleFacts

DEFAULT_MAX_FILE_BYTES = 1_000_000

# "# noqa", "# noqa: FAL101", "# noqa: FAL101, FAL102"
_NOQA_RE = re.compile(rb"#\s*noqa(?::[\s]*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_FILE_NOQA_RE = re.compile(
    rb"^\s*#\s*fastapi-arch-lint:\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_CODE_SPLIT = re.compile(rb"[\s,]+")


@dataclass(frozen=True, slots=True)
class Extracted:
    """The per-file result: facts, or a diagnostic, never both missing."""

    path: str
    facts: ModuleFacts | None
    diagnostic: Diagnostic | None = None


def _codes(raw: bytes | None) -> frozenset[str]:
    if not raw:
        return frozenset()
    return frozenset(c.decode("ascii").upper() for c in _CODE_SPLIT.split(raw.strip()) if c)


def noqa_map(source: bytes) -> tuple[dict[int, frozenset[str]], frozenset[str] | None]:
    lines: dict[int, frozenset[str]] = {}
    if b"noqa" not in source and b"NOQA" not in source.upper():
        return lines, None
    for number, line in enumerate(source.splitlines(), start=1):
        if b"noqa" not in line.lower():
            continue
        m = _NOQA_RE.search(line)
        if m:
            lines[number] = _codes(m.group("codes"))
    file_noqa = None
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    for m in _FILE_NOQA_RE.finditer(source):
        file_noqa = (file_noqa or frozenset()) | _codes(m.group("codes"))
        if not m.group("codes"):
            file_noqa = frozenset()
            break
    return lines, file_noqa


MAX_BRACKET_DEPTH = 200  # CPython's parser limit ("too many nested parentheses")
_OPEN = frozenset(b"([{")
_CLOSE = frozenset(b")]}")


def bracket_depth(source: bytes) -> int:
    """The deepest bracket nesting, skipping strings and comments (a cheap guard: LibCST's
    native parser overflows its stack, killing the process, on a few thousand levels)."""
    if source.count(b"(") + source.count(b"[") + source.count(b"{") < MAX_BRACKET_DEPTH:
        return 0
    depth = deepest = 0
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif c in _CLOSE:
            depth = max(depth - 1, 0)
        elif c == 0x23:  # '#': skip to end of line
            j = source.find(b"\n", i)
            i = n if j < 0 else j
            continue
        elif c in (0x22, 0x27):  # quotes
            q = source[i:i + 3]
            quote = q if q in (b'"""', b"'''") else source[i:i + 1]
            j = i + len(quote)
            while j < n:
                if source[j] == 0x5C:  # backslash
                    j += 2
                    continue
                if source.startswith(quote, j):
                    break
                if len(quote) == 1 and source[j] == 0x0A:
                    break
                j += 1
            i = j + len(quote)
            continue
        i += 1
    return deepest


def digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def parse_error_message(exc: BaseException, source: bytes | None = None) -> str:
    if isinstance(exc, cst.ParserSyntaxError):
        msg = exc.message.strip().splitlines()[0] if exc.message else "invalid syntax"
        line, col = exc.raw_line, exc.raw_column + 1
        m = re.match(r"parser error: error at (\d+):(\d+): (.*)", msg)
        if m:  # the native parser's own position is the reliable one
            line, col, msg = int(m.group(1)), int(m.group(2)) + 1, m.group(3)
        if source is not None:
            last = len(source.splitlines()) or 1
            if line > last:  # the parser reports end of file one line past the last
                line, col, msg = last, len(source.splitlines()[-1]) + 1 if source.splitlines() else 1, f"unexpected end of file ({msg})"
        if len(msg) > 120:
            msg = msg[:117] + "..."
        return f"syntax error at line {line}, column {col}: {msg}"
    if isinstance(exc, UnicodeDecodeError):
        return f"cannot decode file as {exc.encoding}: {exc.reason} at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "too deeply nested to analyze"
    if isinstance(exc, MemoryError):
        return "too large to analyze (out of memory)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot parse: {text[:200]}"


def extract_source(source: bytes, path: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Extracted:
    """Facts of one module's source. ``module`` names are assigned later by the linker."""
    if max_bytes and len(source) > max_bytes:
        return Extracted(path, None, Diagnostic(path, f"skipped: {len(source):,} bytes is over the {max_bytes:,}-byte limit (max-file-bytes)"))
    if b"\x00" in source:
        return Extracted(path, None, Diagnostic(path, "skipped: contains NUL bytes (binary file?)"))
    depth = bracket_depth(source)
    if depth > MAX_BRACKET_DEPTH:
        return Extracted(path, None, Diagnostic(
            path, f"skipped: brackets nested {depth} deep (CPython itself stops at {MAX_BRACKET_DEPTH})"))
    try:
        module = cst.parse_module(source)
        collector = Collector(module)
        imports, scope, exports = collector.collect()
    except (RecursionError, MemoryError) as exc:
        return Extracted(path, None, Diagnostic(path, parse_error_message(exc)))
    except Exception as exc:  # LibCST raises several exception types for bad input
        return Extracted(path, None, Diagnostic(path, parse_error_message(exc, source)))
    noqa, file_noqa = noqa_map(source)
    facts = ModuleFacts(
        path=path,
        module="",
        is_package=False,
        digest=digest(source),
        line_count=source.count(b"\n") + (0 if source.endswith(b"\n") or not source else 1),
        imports=imports,
        scope=scope,
        exports=exports,
        noqa=noqa,
        file_noqa=file_noqa,
    )
    return Extracted(path, facts)


def extract_file(file: Path, display: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Extracted:
    try:
        size = file.stat().st_size
        if max_bytes and size > max_bytes:
            return Extracted(display, None, Diagnostic(display, f"skipped: {size:,} bytes is over the {max_bytes:,}-byte limit (max-file-bytes)"))
        source = file.read_bytes()
    except PermissionError:
        return Extracted(display, None, Diagnostic(display, "cannot read file: permission denied"))
    except IsADirectoryError:
        return Extracted(display, None, Diagnostic(display, "cannot read file: is a directory"))
    except OSError as exc:
        return Extracted(display, None, Diagnostic(display, f"cannot read file: {exc.strerror or exc}"))
    return extract_source(source, display, max_bytes=max_bytes)


CACHE_SALT = f"fastapi-arch-lint {__version__} facts v1"
