"""FAL533 unsafe-deserialization."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.taint import call_arg
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Const, Expr, dotted
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import traced_sinks, where_in

# load their first argument with pickle (or a format that rebuilds any object): keyword of that argument
PICKLE_LOADS = {
    "pickle.loads": "data", "pickle.load": "file", "pickle.Unpickler": "file", "_pickle.loads": "data",
    "_pickle.load": "file", "cPickle.loads": "data", "cPickle.load": "file", "dill.loads": "str", "dill.load": "file",
    "cloudpickle.loads": "data", "cloudpickle.load": "file", "marshal.loads": "bytes", "marshal.load": "file",
    "shelve.open": "filename", "jsonpickle.decode": "string", "jsonpickle.unpickler.decode": "string",
    "pandas.read_pickle": "filepath_or_buffer", "joblib.load": "filename", "yaml.unsafe_load": "stream",
    "yaml.unsafe_load_all": "stream",
}
YAML_LOADS = frozenset({"yaml.load", "yaml.load_all"})
YAML_FULL = frozenset({"yaml.full_load", "yaml.full_load_all"})
UNSAFE_LOADERS = frozenset({"Loader", "UnsafeLoader", "CLoader", "CUnsafeLoader"})
FULL_LOADERS = frozenset({"FullLoader", "CFullLoader"})

HELP = ("never unpickle what a client sent: exchange JSON (`json.loads`, or a Pydantic model's "
        "`model_validate_json`), read YAML with `yaml.safe_load()`, load NumPy arrays with `allow_pickle=False` "
        "and models with `torch.load(..., weights_only=True)`; if objects must travel, sign them (`hmac`) and "
        "verify before loading")


def deserializer(site: CallSite, target: str | None) -> tuple[Expr, str, bool] | None:
    """The data argument of a loading call, its label, and whether it certainly runs code (else: it may,
    depending on the library's version)."""
    call = site.call
    name = target or ""
    short = f"`{name}()`"
    kw = PICKLE_LOADS.get(name)
    if kw is not None:
        arg = call_arg(call, 0, kw)
        return (arg, short, True) if arg is not None else None
    arg = call_arg(call, 0, "stream")
    if arg is None:
        return None
    if name in YAML_FULL:
        return arg, short, False
    if name in YAML_LOADS:
        loader = call_arg(call, 1, "Loader")
        if loader is None:
            return arg, f"{short} without a `Loader`", False
        last = (dotted(loader) or "").rsplit(".", 1)[-1]
        if last in UNSAFE_LOADERS:
            return arg, f"{short} with `{last}`", True
        if last in FULL_LOADERS:
            return arg, f"{short} with `{last}`", False
        return None  # SafeLoader, BaseLoader, or a loader of the project's: not judged
    if name == "numpy.load":
        pickled = call.kwarg("allow_pickle")
        if isinstance(pickled, Const) and pickled.value is True:
            return call_arg(call, 0, "file"), "`numpy.load(..., allow_pickle=True)`", True
    if name == "torch.load":
        weights = call.kwarg("weights_only")
        if isinstance(weights, Const) and weights.value is False:
            return call_arg(call, 0, "f"), "`torch.load(..., weights_only=False)`", True
    return None


def loading_sinks(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
    found = deserializer(site, target)
    return [found[:2]] if found is not None and found[0] is not None else []


@register
class UnsafeDeserialization(Rule):
    code = "FAL533"
    name = "unsafe-deserialization"
    summary = "Request data (a body, an upload) is loaded with `pickle`, `marshal`, `jsonpickle` or an unsafe YAML loader"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "for `yaml.load` without a `Loader` or with `FullLoader`, unsafe only on "
                                          "some PyYAML versions"}
    confidence = Confidence.HIGH
    cwe = ("CWE-502",)
    owasp = ("API8:2023", "A08:2021")
    security_severity = 9.8

    def check(self, app: AppModel) -> Iterator[Finding]:
        for t in traced_sinks(app, loading_sinks, "deserialize"):
            found = deserializer(t.site, t.target)
            certain = found is None or found[2]
            harm = ("a `!!python/object/apply:os.system` tag in the text runs a command on the server"
                    if certain and "yaml" in t.label else
                    "the client's bytes rebuild any object, and rebuilding one can run code on the server"
                    if certain else
                    "PyYAML before 5.1 loads `!!python/object` tags with it, and FullLoader had bypasses until 5.4: "
                    "`yaml.safe_load()` is the loader for untrusted text")
            yield t.finding(self, f"{t.label}{where_in(t.ctx)} loads {t.src.text()} of `{t.ctx.route.display()}`: {harm}",
                            HELP, severity=None if certain else Severity.WARNING,
                            confidence=None if certain else Confidence.MEDIUM)
