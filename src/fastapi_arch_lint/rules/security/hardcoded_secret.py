"""FAL504 hardcoded-secret."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls
from fastapi_arch_lint.analysis.keys import KEY_ARGS, KeyUse, compared_only, default_rejected, key_names
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, jwt_encode_library, short_target
from fastapi_arch_lint.analysis.names import SECRET_WORDS, describe_literal, dsn_password, is_reference_value, is_secret_name, words
from fastapi_arch_lint.analysis.values import target as call_target
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Subscript, dotted, field_default, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import MARKER, is_own_label

# calls that read the environment: where the variable's name goes, and where the literal fallback their
# result is when the variable is unset (none for ``pop``, whose default is no configured value)
ENV_READS: dict[str, tuple[tuple[int, str], tuple[int, str] | None]] = {
    "os.getenv": ((0, "key"), (1, "default")),
    "os.environ.get": ((0, "key"), (1, "default")),
    "os.environ.setdefault": ((0, "key"), (1, "value")),
    "os.environ.pop": ((0, "key"), None),
    "decouple.config": ((0, "option"), (1, "default")),
}
ENV_FALLBACK = {name: fallback for name, (_, fallback) in ENV_READS.items() if fallback is not None}
_PLACEHOLDER = re.compile(r"change|example|dummy|placeholder|your|dev|test|fake|not[-_ ]?a|xxx|todo|default|insecure",
                          re.I)

# the shapes of real provider credentials: committed, they are live until rotated
PROVIDER_SHAPES = re.compile(
    r"^(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|^AKIA[0-9A-Z]{16}$|^gh[pousr]_[A-Za-z0-9]{30,}|"
    r"^xox[abposr]-\d{6,}-|^AIza[0-9A-Za-z_\-]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY|^glpat-[\w\-]{20,}|"
    r"^sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}|^whsec_[A-Za-z0-9+/=]{24,}|^SG\.[\w\-]{16,}\.[\w\-]{16,}")
CAMEL_WORDS = re.compile(r"(?:[A-Z][a-z]{2,})+")
# keys that are public by design, made to ship in every browser page: a payment provider's publishable
# key, a product-analytics project key (they can only send events or start a checkout)
PUBLIC_SHAPES = re.compile(r"^(?:pk_(?:live|test)_|phc_)[0-9A-Za-z]{16,}$")
PUBLIC_WORDS = frozenset({"publishable", "public"})
# the name of an environment variable or of a stored secret, not its value: ``"BILLING_CLIENT_SECRET"``
REFERENCE_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){2,}$")
REFERENCE_LAST = frozenset({"ID", "SECRET", "PASSWORD", "TOKEN", "KEY", "PASSPHRASE", "CREDENTIALS"})
STAND_IN_WORDS = frozenset({"CHANGE", "CHANGEME", "ME", "YOUR", "DEV", "TEST", "DUMMY", "FAKE", "DEFAULT",
                            "INSECURE", "SUPER", "MY", "EXAMPLE", "PLACEHOLDER", "REPLACE", "NOT", "SET", "THIS"})
# a value that says there is no credential (the client library insists on one; the server checks none)
NO_VALUE = re.compile(r"(?i)empty|none|null|nil|unused|n/?a|no[-_ ]?(?:key|auth|token|password|secret)"
                      r"(?:[-_ ]?(?:needed|required))?|not[-_ ]?(?:needed|required|used|set)")
# a regular expression (a character class with a quantifier, an anchor, an escape class): a pattern, no secret
REGEX_SHAPE = re.compile(r"\[[^\]]+\][+*?{]|\\[dwsSbB]|\(\?[:=!P<]|^\^.*\$$")
# a constant whose name says it stands for a well-known or refused value, not a key
SENTINEL_WORDS = frozenset({"placeholder", "default", "dummy", "sentinel", "example", "insecure", "known", "mask",
                            "masked", "unset", "redacted", "fake"})
# a mask or a stand-in, not a value: ``"******"``, ``"<your-key>"``, ``"..."``
MASK = re.compile(r"[*•#.xX\-_]{3,}|<[^<>]*>|\{\{[^{}]*\}\}|%s|\?+")
# a masked example of a key's shape: a run of mask characters inside it (``"sk-****"``, ``"jina_****"``,
# ``"AIza..."``, ``"ghp_xxxx"``): the real characters were left out
MASK_RUN = re.compile(r"\*{3,}|•{3,}|x{4,}|X{4,}|\.{3}|…")
# a value that says it stands in for a key (``"dummy"``, ``"placeholder-key"``): a client library insists on
# some string for a service that checks none. Under the name of a key that signs, it is still a known key
STAND_IN = re.compile(r"(?i)(?:dummy|placeholder|example|sample)(?:[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|value|"
                      r"string|password|credentials?))?")
SIGNING_LAST = frozenset({"secret", "key", "salt", "pepper", "signature", "signing"})
# folders of code that is not the deployed application (docs, one-off scripts, seed data, examples)
NOT_SHIPPED_DIRS = frozenset({"docs", "doc", "scripts", "script", "examples", "example", "seeds", "seed",
                              "fixtures", "samples", "sample", "e2e"})
TEST_CLASS = re.compile(r"^(?:Test|Testing|Fake|Mock|Dummy|Stub)[A-Z_]")

# an environment variable's name: ``"APP_SECRET"``
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def _name_of(e: Expr | None) -> str | None:
    if isinstance(e, Name):
        return e.id
    if isinstance(e, Attr):
        return e.attr  # ``config.ENV_APP_SECRET``
    return None


def env_keys(app: AppModel) -> frozenset[str]:
    """The names of the constants the project hands to a read of the environment as the variable's name:
    ``os.getenv(ENV_APP_SECRET)``, ``os.environ[ENV_APP_SECRET]``, or a project function that passes its
    parameter on to one (``def getenv(key): return os.getenv(key)``, two levels). Matched by identifier."""
    return memo(app, _env_keys)


def _env_keys(app: AppModel) -> frozenset[str]:
    readers: dict[str, tuple[int, str]] = {name: key for name, (key, _) in ENV_READS.items()}
    for _ in range(2):  # project wrappers, and their wrappers
        for fn in app.functions.values():
            if fn.qualname in readers or fn.fact.is_method or is_test_path(fn.path):
                continue
            params = [p.name for p in fn.fact.params]
            for site, tgt in fn.calls:
                if tgt in readers:
                    key = _name_of(site.call.arg(*readers[tgt]))
                    if key in params:
                        readers[fn.qualname] = (params.index(key), key)
                        break
    out: set[str] = set()
    for cc in iter_calls(app, lambda _c, t: t in readers):
        key = _name_of(cc.call.arg(*readers[cc.target or ""]))
        if key is not None:
            out.add(key)
    for fn in app.functions.values():  # ``os.environ[ENV_APP_SECRET]``
        if is_test_path(fn.path):
            continue
        exprs = [a.value for a in fn.fact.scope.assigns] + [r.value for r in fn.fact.scope.returns] + \
            [s.call for s in fn.fact.calls]
        for e in exprs:
            for x in walk(e):
                if isinstance(x, Subscript) and dotted(x.value) in ("os.environ", "environ") and len(x.items) == 1:
                    key = _name_of(x.items[0])
                    if key is not None:
                        out.add(key)
    return frozenset(out)


HELP = ("read it from the environment with no default (a `BaseSettings` field typed `SecretStr` without a "
        "default, or `os.environ[\"NAME\"]`) or from a secret manager, and rotate it: it is in version control")


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def looks_generated(value: str) -> bool:
    """Does the literal look like a real, machine-made secret (a provider's key shape, or a long random
    string), rather than a value a person typed (``"super secret"``, ``"changeme"``, ``"dev-key-1"``)?"""
    v = value.strip()
    if PROVIDER_SHAPES.search(v):
        return True
    if len(v) < 16 or " " in v:
        return False
    # words a person typed: lower-case or capitalised alphabetic chunks of three letters or more
    # (``StrongPassword123!``: two capitalised words run together are still words)
    wordy = sum(len(c) for c in re.split(r"[^A-Za-z]+", v) if len(c) >= 3 and (
        c.islower() or c.istitle() or c.isupper() or CAMEL_WORDS.fullmatch(c)))
    if wordy >= 0.6 * len(v):
        return False
    counts: dict[str, int] = {}
    for ch in v:
        counts[ch] = counts.get(ch, 0) + 1
    entropy = -sum(n / len(v) * math.log2(n / len(v)) for n in counts.values())
    return entropy >= 3.0


# the last words of a credential the application presents to another service (it signs nothing)
OUTBOUND_LAST = frozenset({"password", "passwd", "passphrase", "pwd", "token", "apikey", "dsn"})
OUTBOUND_KEYS = frozenset({"api", "access"})  # ``API_KEY``, ``SECRET_ACCESS_KEY``


def _use_text(use: KeyUse) -> str:
    if use.sink.startswith("a comparison"):
        return f"{use.where} compares it with what a client sends: it verifies"
    return f"it is the key of {use.sink} in {use.where}"


def _role_by_name(name: str) -> str:
    """``outbound`` for a name that reads as a credential for another service (a database password, an API
    key or token, an object store's access key, an OAuth client secret), else ``unknown`` (``SECRET_KEY``,
    ``JWT_SECRET``: by its name a key the application signs with)."""
    ws = words(name)
    if not ws:
        return "unknown"
    last = ws[-1]
    if last in OUTBOUND_LAST or (last == "key" and len(ws) > 1 and ws[-2] in OUTBOUND_KEYS):
        return "outbound"
    if last == "secret" and len(ws) > 1 and ws[-2] == "client":
        return "outbound"
    return "unknown"


def _not_shipped(path: str) -> bool:
    """Test code, or a folder of docs, scripts, seed data or examples: not the deployed application."""
    if is_test_path(path):
        return True
    parts = path.replace("\\", "/").split("/")
    if parts[-1] in ("test.py", "testing.py"):  # ``settings/test.py``: the test run's settings
        return True
    return any(p.lower() in NOT_SHIPPED_DIRS for p in parts[:-1])


def _may_hold_secret(value: Expr | None) -> bool:
    """Can ``_bound`` find anything in ``value``: a string literal, or a call with a literal argument?
    Asked first, before the messages are put together: most bindings are neither."""
    if isinstance(value, Const):
        return isinstance(value.value, (str, bytes))
    return isinstance(value, Call) and not value.starred and _literal_argument(value, None)


def _literal_argument(call: Call, target: str | None) -> bool:
    """Every finding about a call is about one of its literal arguments: ``iter_calls`` skips the other calls."""
    for a in call.args:  # loops, not ``any()``: asked for every call of the project
        if isinstance(a, Const):
            return True
    for _, v in call.kwargs:
        if isinstance(v, Const):
            return True
    return False


@register
class HardcodedSecret(Rule):
    code = "FAL504"
    name = "hardcoded-secret"
    summary = "A signing key, password, token or connection-string password is a literal in the code"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "for a value a person typed that reads as a development default (medium confidence)",
                        Severity.INFO: "for such a default of an outbound credential (a database password, a "
                                       "third-party API key or token), or of a signing key the project refuses "
                                       "in production"}
    cwe = ("CWE-798",)
    owasp = ("API8:2023",)
    security_severity = 7.5

    def check(self, app: AppModel) -> Iterator[Finding]:
        self._app = app
        self._seen: set[tuple[str, int, str]] = set()
        # where the flagged statement ends, so a redactor can mask the whole literal
        self._end: tuple[int, int] | None = None
        # module constants and attribute assignments, function locals
        for mod in app.modules:
            if is_test_path(mod.path):
                continue
            for a in mod.facts.scope.assigns:
                if not _may_hold_secret(a.value):
                    continue
                name = a.target.rsplit(".", 1)[-1]
                if SENTINEL_WORDS.intersection(words(name)) and name in compared_only(app):
                    continue  # ``PLACEHOLDER_KEY = "changeme"`` only ever compared: the value the project refuses
                self._end = (a.pos.end_line, a.pos.end_col)
                yield from self._bound(mod.path, a.pos.line, a.pos.col, name, a.value, app, mod.name,
                                       f"`{a.target}` in module `{mod.name}`", f"{mod.name}.{a.target}")
        for fn in app.functions.values():
            if is_test_path(fn.path):
                continue
            for a in fn.fact.scope.assigns:
                if not _may_hold_secret(a.value):
                    continue
                name = a.target.rsplit(".", 1)[-1]
                self._end = (a.pos.end_line, a.pos.end_col)
                yield from self._bound(fn.path, a.pos.line, a.pos.col, name, a.value, app, fn.module,
                                       f"`{a.target}` in `{fn.fact.qualname}`", f"{fn.qualname}.{a.target}")
            for p in fn.fact.params:
                if isinstance(p.default, Const) and _may_hold_secret(p.default):
                    self._end = (p.pos.end_line, p.pos.end_col)
                    yield from self._bound(fn.path, p.pos.line, p.pos.col, p.name, p.default, app, fn.module,
                                           f"the default of parameter `{p.name}` of `{fn.fact.qualname}`",
                                           f"{fn.qualname}({p.name})")
        # class constants and model / settings field defaults
        for qual, (path, cf) in sorted(app.classes.items()):
            if is_test_path(path) or any(b.startswith("enum.") for b in app.class_bases.get(qual, ())):
                continue
            if TEST_CLASS.match(cf.qualname.rsplit(".", 1)[-1]):
                continue  # the settings of a test run, or a test double
            module = qual[: -len(cf.qualname) - 1] if qual.endswith("." + cf.qualname) else qual.rsplit(".", 1)[0]
            is_settings = any(b.rsplit(".", 1)[-1] == "BaseSettings" for b in app.class_bases.get(qual, ()))
            for f in cf.fields:
                if f.value is None or f.name.startswith("_") or f.name == "model_config":
                    continue
                default = field_default(f.value)
                if default is None or not _may_hold_secret(default):
                    continue
                label = f"`{cf.qualname}.{f.name}` defaults to" if f.annotation is not None else f"`{cf.qualname}.{f.name}` is"
                self._end = (f.pos.end_line, f.pos.end_col)
                role = self._settings_role(app, qual, f.name, default) if is_settings else None
                yield from self._bound(path, f.pos.line, f.pos.col, f.name, default, app, module,
                                       label, f"{qual}.{f.name}", field=True, role=role)
        # keyword arguments (``SessionMiddleware(secret_key="...")``), signing keys, connection strings
        self._end = None
        for cc in iter_calls(app, _literal_argument):
            call_name = dotted(cc.call.func) or (short_target(cc.target) if cc.target else "call")
            owner = cc.function.qualname if cc.function else cc.module
            for k, v in cc.call.kwargs:
                if isinstance(v, Const) and is_secret_name(k):
                    yield from self._literal(cc.path, cc.line, cc.col, k, v.value,
                                             f"`{k}=` of `{call_name}(...)` is", f"{owner}:{call_name}({k})")
            key = None
            if jwt_encode_library(cc.target) or jwt_decode_library(cc.target):
                key = cc.call.arg(1, "key")
            elif cc.target in KEY_ARGS:
                key = cc.call.arg(*KEY_ARGS[cc.target])
            if isinstance(key, Const):
                yield from self._literal(cc.path, cc.line, cc.col, "key", key.value,
                                         f"the key passed to `{call_name}(...)` is", f"{owner}:{call_name}(key)",
                                         force=True)
            for arg in (*cc.call.args, *(v for _, v in cc.call.kwargs)):
                if isinstance(arg, Const):
                    yield from self._dsn(cc.path, cc.line, cc.col, arg.value,
                                         f"an argument of `{call_name}(...)`", f"{owner}:{call_name}(dsn)")

    # -- helpers -------------------------------------------------------------
    def _signing_name(self, name: str) -> bool:
        """The name reads as a key the application signs or verifies with (``SECRET_KEY``, ``jwt_secret``,
        ``session_signing_key``), or the project uses it that way."""
        ws = words(name)
        if not ws or _role_by_name(name) == "outbound":
            return False
        return ws[-1] in SIGNING_LAST or "signing" in ws or key_names(self._app).get(name) is not None

    def _settings_role(self, app: AppModel, cls: str, field: str, default: Expr) -> tuple[str, str] | None:
        """What a settings field's development default is, followed to where the project reads it: a key
        that signs or verifies (``("signing", where)``), one the project refuses in production
        (``("rejected", where)``), or None when no read of it feeds a key (its name decides)."""
        use = key_names(app).get(field)
        if use is None:
            return None
        literal = default.value if isinstance(default, Const) else None
        if isinstance(default, Call) and default.args and isinstance(default.args[0], Const):
            literal = default.args[0].value  # ``SecretStr("...")``
        rejected = default_rejected(app, cls, field, literal) if isinstance(literal, (str, bytes)) else None
        if rejected is not None:
            return "rejected", rejected
        return "signing", _use_text(use)

    def _bound(self, path: str, line: int, col: int, name: str, value: Expr | None, app: AppModel,
               module: str, what: str, entity: str, field: bool = False,
               role: tuple[str, str] | None = None) -> Iterator[Finding]:
        """A name bound to ``value``: a literal, a ``SecretStr("...")``, or an env lookup with a literal fallback."""
        label = what if field else f"{what} is"
        if isinstance(value, Const):
            yield from self._literal(path, line, col, name, value.value, label, entity, role=role)
            yield from self._dsn(path, line, col, value.value, label, entity)
            return
        if not isinstance(value, Call) or value.starred:
            return
        target = call_target(app, value.func, module) or dotted(value.func) or ""
        if target.endswith("SecretStr") or target.endswith("SecretBytes"):
            inner = value.args[0] if value.args else None
            if isinstance(inner, Const):
                yield from self._literal(path, line, col, name, inner.value, label, entity, role=role)
            return
        if target in ENV_FALLBACK:
            fallback = value.arg(*ENV_FALLBACK[target])
            if isinstance(fallback, Const):
                src = short_target(target)
                yield from self._literal(path, line, col, name, fallback.value,
                                         f"{what} read with `{src}()`, but its fallback is", entity,
                                         confidence=Confidence.MEDIUM, role=role)
                yield from self._dsn(path, line, col, fallback.value, f"the `{src}()` fallback of {what}", entity)

    def _literal(self, path: str, line: int, col: int, name: str, value: object, label: str, entity: str,
                 force: bool = False, confidence: Confidence | None = None,
                 role: tuple[str, str] | None = None) -> Iterator[Finding]:
        text = _text(value)
        if text is None or not (force or is_secret_name(name)) or is_reference_value(name, text):
            return
        v = text.strip()
        if MASK.fullmatch(v) or v.lower() in SECRET_WORDS or v.lower() in words(name) or MARKER.fullmatch(v) \
                or is_own_label(name, v):
            # a mask (``password="******"``), a key's name (``PK_TOKEN = "token"``), a marker that stands
            # for "not set yet" (``"__pending_bot_token__"``) or a label (``REASON_MISSING_SECRET =
            # "missing_secret"``), not a secret
            return
        if NO_VALUE.fullmatch(v):
            return  # ``OpenAI(api_key="EMPTY")`` for a local server without auth: a value that says there is none
        if MASK_RUN.search(v) and not PROVIDER_SHAPES.search(v):
            return  # ``default_credentials="sk-****"``: an example of the key's shape with its characters masked
        if STAND_IN.fullmatch(v) and not force and role is None and not self._signing_name(name):
            # ``api_key="dummy"``, ``default_credentials="dummy"``: a stand-in for a service that needs no key, not
            # a key (``SECRET_KEY = "dummy"`` still is one: whatever it signs, everyone can forge)
            return
        if PUBLIC_SHAPES.match(v) or PUBLIC_WORDS.intersection(words(name)):
            return  # a publishable key: made to be read by every browser
        if REGEX_SHAPE.search(v):
            return  # a pattern (``TOKEN_RE = r"[A-Za-z0-9-]+"``)
        if REFERENCE_NAME.match(v) and v.rsplit("_", 1)[-1] in REFERENCE_LAST \
                and not STAND_IN_WORDS.intersection(v.split("_")):
            return  # the name of a variable or stored secret (``client_secret_key="BILLING_CLIENT_SECRET"``)
        if ENV_NAME.match(v) and name in env_keys(self._app):
            return  # ``ENV_APP_SECRET = "APP_SECRET"`` read with ``os.getenv(ENV_APP_SECRET)``: the variable's name
        generated = looks_generated(v)
        if not generated and _not_shipped(path):
            return  # a stand-in value in docs, scripts, seed data or test settings
        key = (path, line, entity)
        if key in self._seen:
            return
        self._seen.add(key)
        if generated:
            yield self.finding(
                path, line, col,
                f"{label} {describe_literal(text)} that looks like a real key: a secret in the source is readable "
                "by everyone with the code",
                help=HELP, entity=entity, confidence=confidence, **self._span(),
            )
            return
        note = " (it reads like a placeholder)" if _PLACEHOLDER.search(text) else ""
        if role is None and not force and len(words(name)) > 1:
            use = key_names(self._app).get(name)
            role = ("signing", _use_text(use)) if use is not None else None
        kind, where = role if role is not None else ("signing", "") if force else (_role_by_name(name), "")
        help_text = HELP.replace(", and rotate it: it is in version control", "") + "; or refuse to start in " \
            "production while it still has its default"
        if kind == "rejected":
            yield self.finding(
                path, line, col,
                f"{label} {describe_literal(text)}{note}, a development default of a signing key, but {where}: "
                "a deployment that keeps it is refused, so only development runs with it",
                help=help_text, entity=entity, severity=Severity.INFO, confidence=confidence or Confidence.MEDIUM,
                **self._span(),
            )
            return
        if kind == "outbound":
            yield self.finding(
                path, line, col,
                f"{label} {describe_literal(text)}{note}, a development default of an outbound credential (a "
                "database, an object store, a third-party service): it signs nothing the application trusts, and "
                "opens at most the service a developer runs locally with the same default",
                help=help_text, entity=entity, severity=Severity.INFO, confidence=confidence or Confidence.MEDIUM,
                **self._span(),
            )
            return
        signs = f" ({where})" if where else ""
        yield self.finding(
            path, line, col,
            f"{label} {describe_literal(text)}{note}, a development default{signs}: every deployment that does not "
            "override it runs with this value, which everyone with the code knows"
            + ((": whoever has the code can pass the check it guards" if "compares it" in where else
                ": whoever has the code can forge what it signs") if where else ""),
            help=help_text,
            entity=entity, severity=Severity.WARNING, confidence=confidence or Confidence.MEDIUM, **self._span(),
        )

    def _dsn(self, path: str, line: int, col: int, value: object, label: str, entity: str) -> Iterator[Finding]:
        text = _text(value)
        if text is None:
            return
        scheme = dsn_password(text)
        if scheme is None:
            return
        password = text.split("://", 1)[1].split("@", 1)[0].split(":", 1)[-1]
        generated = looks_generated(password)
        if not generated and (_not_shipped(path) or MASK.fullmatch(password)):
            return
        key = (path, line, entity)
        if key in self._seen:
            return
        self._seen.add(key)
        if label.endswith(" is") or label.endswith(" to") or label.endswith(" be"):
            label = f"{label} a"
        else:
            label = f"{label} is a"
        yield self.finding(
            path, line, col,
            f"{label} `{scheme}://` connection string with an inline password"
            f"{'' if generated else ' (a development default of an outbound credential: it opens only the database a developer runs locally with the same default, unless deployments keep it)'}",
            help="take the database URL (or at least its password) from the environment or a secret manager; "
                 "keep only a password-less local default such as `sqlite:///./app.db`",
            entity=entity, severity=None if generated else Severity.INFO,
            confidence=None if generated else Confidence.MEDIUM, **self._span(),
        )

    def _span(self) -> dict[str, int]:
        if self._end is None or self._end[0] <= 0:
            return {}
        return {"end_line": self._end[0], "end_col": self._end[1]}
