"""Secret redaction: nothing that looks like a credential leaves the machine.

Two layers, both applied before the brief is sent (and before ``--dry-run`` prints it):

1. **What a secret rule matched.** Every finding of a secret rule (``FAL504 hardcoded-secret``,
   or any rule whose name contains ``secret``) points at a line span. Every string literal that
   starts in that span is replaced by ``"<redacted>"`` in the source before an excerpt is cut
   from it (found with :mod:`tokenize`, so a multi-line literal goes as a whole and line numbers
   stay put), and its value is remembered so that it is also removed wherever else it appears in
   the brief (a model field default, a middleware option).
2. **Common key and token shapes**, over the whole brief text as a final pass: AWS access key
   ids, Anthropic / OpenAI ``sk-`` keys, GitHub, Slack, Stripe and Google keys, JWTs, PEM private
   keys, ``scheme://user:password@`` URLs, string literals assigned to secret-looking names
   (``SECRET_KEY = "..."``, ``password: str = "..."``, ``api_key="..."``), long hex or base64
   literals, and unquoted ``NAME=value`` secrets in config-like text.

Over-redaction is the safe side: a redacted placeholder costs the reviewer a little context,
a leaked key costs a rotation.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fastapi_arch_lint.findings import Finding

PLACEHOLDER = "<redacted>"
SECRET_RULE_CODES = frozenset({"FAL504"})
MIN_SCRUB_LEN = 8  # shorter matched values are only removed where they stand (they could be common words)


def is_secret_rule(finding: Finding) -> bool:
    return finding.rule in SECRET_RULE_CODES or "secret" in finding.name


def secret_spans(findings: Iterable[Finding]) -> dict[str, set[int]]:
    """{path: lines} covered by findings of secret rules (their whole ``line..end_line`` span)."""
    spans: dict[str, set[int]] = {}
    for f in findings:
        if is_secret_rule(f):
            spans.setdefault(f.path, set()).update(range(f.line, max(f.end_line, f.line) + 1))
    return spans


# ---------------------------------------------------------------------------
# names

_SECRET_WORDS = frozenset({
    "secret", "secrets", "password", "passwords", "passwd", "passphrase", "pwd", "pass", "token", "tokens",
    "apikey", "credential", "credentials", "dsn",
})
_KEY_QUALIFIERS = frozenset({
    "secret", "api", "private", "signing", "sign", "encryption", "encrypt", "hmac", "jwt", "access", "auth",
    "master", "app", "webhook", "fernet", "aes", "crypto", "license", "stripe", "client", "service", "account",
})
_NOT_SECRET_LAST = frozenset({
    "url", "uri", "urls", "path", "file", "filename", "dir", "name", "names", "header", "headers", "field",
    "type", "types", "algorithm", "algorithms", "alg", "prefix", "suffix", "env", "var", "length", "len",
    "expire", "expires", "expiry", "expiration", "ttl", "lifetime", "minutes", "seconds", "hours", "days",
    "min", "max", "scheme", "endpoint", "id", "ids", "count", "limit", "size", "format", "pattern", "regex",
    "policy", "rounds", "iterations", "version", "kind", "label", "hint", "schema", "required", "enabled",
    "mode", "location", "model", "class", "column", "table", "route", "router", "method", "description",
    "title", "help", "message", "msg", "error", "text", "validator", "manager", "service", "issuer",
    "audience", "scope", "scopes", "provider", "backend", "store", "generator", "factory", "cls", "data",
    "response", "request", "schema", "hashed", "hash",
})


def _words(identifier: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", identifier)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_secret_name(identifier: str) -> bool:
    """``SECRET_KEY``, ``jwtSecret``, ``db_password``, ``X-API-Key``, ``client_secret_2``..."""
    ws = _words(identifier)
    while len(ws) > 1 and (ws[-1].isdigit() or re.fullmatch(r"v\d+", ws[-1])):
        ws = ws[:-1]
    if not ws or ws[-1] in _NOT_SECRET_LAST or "hashed" in ws or "public" in ws:
        return False
    if ws[-1] in _SECRET_WORDS or any(w in ("secret", "password", "passwd", "apikey") for w in ws):
        return True
    return ws[-1] == "key" and len(ws) > 1 and ws[-2] in _KEY_QUALIFIERS


# ---------------------------------------------------------------------------
# source: string literals on secret lines


@dataclass(slots=True)
class Redactor:
    """Collects the values redacted from sources so the final pass can remove them everywhere."""

    values: set[str] = field(default_factory=set)
    count: int = 0

    def redact_source(self, source: str, lines: set[int]) -> str:
        """``source`` with every string literal starting on one of ``lines`` replaced by ``"<redacted>"``.

        Line numbers are kept: a multi-line literal becomes the placeholder plus its newlines.
        """
        if not lines:
            return source
        spans = _literal_spans(source)
        if spans is None:  # not tokenizable (a syntax error): fall back to a per-line regex
            return self._redact_lines_regex(source, lines)
        offsets = _line_offsets(source)
        out: list[str] = []
        pos = 0
        for (sl, sc), (el, ec) in spans:
            if not any(line in lines for line in range(sl, el + 1)):
                continue
            start = offsets[sl - 1] + sc
            end = offsets[el - 1] + ec
            literal = source[start:end]
            self._remember(literal)
            out.append(source[pos:start])
            out.append(f'"{PLACEHOLDER}"' + "\n" * (el - sl))
            pos = end
            self.count += 1
        out.append(source[pos:])
        return "".join(out)

    def _redact_lines_regex(self, source: str, lines: set[int]) -> str:
        result = source.splitlines(keepends=True)
        for i, text in enumerate(result, start=1):
            if i in lines:
                new, n = _QUOTED.subn(lambda m: (self._remember(m.group(0)), f'"{PLACEHOLDER}"')[1], text)
                # an unterminated literal (the line continues a triple-quoted string): drop it all
                if n == 0 and re.search(r"['\"]", text):
                    new = re.sub(r"['\"].*", f'"{PLACEHOLDER}"', text.rstrip("\n")) + ("\n" if text.endswith("\n") else "")
                    n = 1
                self.count += n
                result[i - 1] = new
        return "".join(result)

    def _remember(self, literal: str) -> None:
        try:
            value = ast.literal_eval(literal)
        except Exception:
            value = re.sub(r"^[rRbBuUfF]{0,2}(['\"]{1,3})(.*)\1$", r"\2", literal, flags=re.S)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and len(value.strip()) >= MIN_SCRUB_LEN:
            self.values.add(value.strip())

    def remember_values(self, values: Iterable[str]) -> None:
        for v in values:
            if len(v.strip()) >= MIN_SCRUB_LEN:
                self.values.add(v.strip())

    # -- the final pass ---------------------------------------------------------
    def redact_text(self, text: str) -> str:
        """Remove every remembered value and every known key / token shape from ``text``."""
        for value in sorted(self.values, key=len, reverse=True):
            n = text.count(value)
            if n:
                text = text.replace(value, PLACEHOLDER)
                self.count += n
        for name, pattern, repl in _PATTERNS:
            text, n = pattern.subn(repl, text)
            self.count += n
        text, n = _redact_named_literals(text)
        self.count += n
        return text


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def _literal_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]] | None:
    """(start, end) of every string literal (an f-string as one span), or None if untokenizable."""
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    fstring_start: list[tuple[int, int]] = []
    fstart = getattr(tokenize, "FSTRING_START", -1)
    fend = getattr(tokenize, "FSTRING_END", -2)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and not fstring_start:
                spans.append((tok.start, tok.end))
            elif tok.type == fstart:
                fstring_start.append(tok.start)
            elif tok.type == fend and fstring_start:
                start = fstring_start.pop()
                if not fstring_start:
                    spans.append((start, tok.end))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return spans


# ---------------------------------------------------------------------------
# the final pass: shapes

_QUOTED = re.compile(r"""[rRbBuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")""")

_PATTERNS: Sequence[tuple[str, re.Pattern[str], str]] = (
    ("private-key", re.compile(
        r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----(?:[\s\S]*?-----END \1PRIVATE KEY-----"
        r"|(?:[^\n]*\n[^\n]*?[A-Za-z0-9+/=]{16,}[^\n]*)*)"), "<redacted:private-key>"),
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}"), "<redacted:api-key>"),
    ("openai-key", re.compile(r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_\-]{20,}"), "<redacted:api-key>"),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
     "<redacted:aws-access-key>"),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
     "<redacted:github-token>"),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"), "<redacted:gitlab-token>"),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"), "<redacted:slack-token>"),
    ("stripe-key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), "<redacted:stripe-key>"),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"), "<redacted:google-api-key>"),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]+)?"), "<redacted:jwt>"),
    # scheme://user:password@host -> keep the user and the host, drop the password
    ("url-password", re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/:@'\"`<>]*):(?!<redacted)([^\s/@'\"`<>]+)@"),
     r"\1:<redacted>@"),
    # long hex (40+: keys, digests) and base64 (40+ with upper, lower and digits) string literals
    ("hex-literal", re.compile(r"""(?<=['"])[A-Fa-f0-9]{32,}(?=['"])"""), PLACEHOLDER),
    ("base64-literal", re.compile(
        r"""(?<=['"])(?=[A-Za-z0-9+/_\-]*[0-9])(?=[A-Za-z0-9+/_\-]*[a-z])(?=[A-Za-z0-9+/_\-]*[A-Z])"""
        r"""[A-Za-z0-9+/_\-]{40,}={0,2}(?=['"])"""), PLACEHOLDER),
)

# ``NAME = "literal"``, ``NAME: type = "literal"``, ``"NAME": "literal"``, ``NAME=wrapper(..."literal"...)``
_NAME_ASSIGN = re.compile(r"""([A-Za-z_][A-Za-z0-9_\-]*)(['"]?)\s*(?::[^=\n'"]{0,60}?=(?!=)|=(?!=)|:)\s*""")
_CALL_START = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\(")
# ``SECRET_KEY=abc123...`` unquoted (``.env``, TOML-ish snippets in a standards file)
_ENV_ASSIGN = re.compile(r"""\b([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?!<redacted)([A-Za-z0-9+/_\-]{12,}={0,2})(?![\w.(])""")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _call_extent(text: str, start: int) -> int:
    """End of the call whose ``(`` is at ``start`` (or the end of the line), skipping string literals."""
    depth = 0
    i = start
    while i < len(text):
        m = _QUOTED.match(text, i)
        if m and text[i] in "'\"rRbBuUfF" and m.end() > i:
            i = m.end()
            continue
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _redact_named_literals(text: str) -> tuple[str, int]:
    """String literals assigned (or passed) to a secret-looking name, line by line."""
    count = 0

    def repl(q: re.Match[str]) -> str:
        nonlocal count
        body = re.sub(r"^[rRbBuUfF]{0,2}(['\"]{1,3})(.*)\1$", r"\2", q.group(0), flags=re.S)
        # empty, already redacted, or an environment variable's name (``os.getenv("SECRET_KEY", ...)``)
        if not body or body.startswith("<redacted") or _ENV_NAME.match(body):
            return q.group(0)
        count += 1
        return f'"{PLACEHOLDER}"'

    out_lines: list[str] = []
    for line in text.split("\n"):
        pos = 0
        while True:
            m = _NAME_ASSIGN.search(line, pos)
            if m is None:
                break
            pos = m.end()
            if not is_secret_name(m.group(1)):
                continue
            lit = _QUOTED.match(line, m.end())
            if lit is not None:
                new = repl(lit)
                line = line[: lit.start()] + new + line[lit.end():]
                pos = lit.start() + len(new)
                continue
            call = _CALL_START.match(line, m.end())
            if call is not None:
                end = _call_extent(line, call.end() - 1)
                inner = _QUOTED.sub(repl, line[call.end():end])
                line = line[: call.end()] + inner + line[end:]
                pos = call.end() + len(inner)
        for m in list(_ENV_ASSIGN.finditer(line))[::-1]:
            value = m.group(2)
            if is_secret_name(m.group(1)) and re.search(r"[0-9]", value) and re.search(r"[A-Za-z]", value):
                line = line[: m.start(2)] + PLACEHOLDER + line[m.end(2):]
                count += 1
        out_lines.append(line)
    return "\n".join(out_lines), count


def redact(text: str, values: Iterable[str] = ()) -> tuple[str, int]:
    """One-shot: ``text`` with ``values`` and every known secret shape removed, and how many went."""
    r = Redactor()
    r.remember_values(values)
    out = r.redact_text(text)
    return out, r.count


def redact_sources(sources: Mapping[str, str], findings: Iterable[Finding], redactor: Redactor) -> dict[str, str]:
    """Each source with the literals on its secret-rule lines redacted (see :meth:`Redactor.redact_source`)."""
    spans = secret_spans(findings)
    return {path: redactor.redact_source(src, spans.get(path, set())) for path, src in sources.items()}
