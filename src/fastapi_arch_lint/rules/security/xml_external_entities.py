"""FAL534 xml-external-entities."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.taint import Context, Flow, Source, call_arg
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, dotted, walk
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import traced_sinks, where_in

# lxml's parsing functions: (keyword of the data, position and keyword of the parser argument)
LXML_PARSE = {
    "lxml.etree.fromstring": ("text", 1), "lxml.etree.XML": ("text", 1), "lxml.etree.parse": ("source", 1),
    "lxml.etree.fromstringlist": ("strings", 1), "lxml.etree.XMLID": ("text", 1),
    "lxml.objectify.fromstring": ("xml", 1), "lxml.objectify.XML": ("xml", 1), "lxml.objectify.parse": ("f", 1),
    "lxml.etree.iterparse": ("source", -1),  # takes the parser's options itself
}
LXML_PARSERS = frozenset({"lxml.etree.XMLParser", "lxml.etree.ETCompatXMLParser", "lxml.etree.XMLPullParser",
                          "lxml.objectify.makeparser"})
# the standard library's SAX-based parsers: they fetch external entities only when the feature is turned on
SAX_PREFIXES = ("xml.sax.", "xml.dom.pulldom.", "xml.dom.minidom.", "xml.dom.expatbuilder.")
SAX_FEATURES = ("feature_external_ges", "feature_external_pes", "external-general-entities",
                "external-parameter-entities")

HELP = ("parse client XML with `defusedxml` (`defusedxml.lxml`/`defusedxml.ElementTree.fromstring`), or give lxml "
        "a parser that refuses entities: `etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)`; "
        "never turn on the SAX `feature_external_ges`")


def xml_sinks(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
    name = target or ""
    spec = LXML_PARSE.get(name)
    if spec is not None:
        arg = call_arg(site.call, 0, spec[0])
        return [(arg, f"`{name.replace('lxml.', '')}()`")] if arg is not None else []
    func = site.call.func
    if name.startswith(SAX_PREFIXES) and isinstance(func, Attr) and func.attr in ("parse", "parseString", "feed"):
        arg = call_arg(site.call, 0, "source", "string", "data", "file")
        return [(arg, f"`{name.replace('()', '')}()`")] if arg is not None else []
    return []


def _module_call_targets(app: AppModel) -> dict[tuple[str, int, int], str | None]:
    return {(mc.path, mc.line, mc.col): mc.target for mc in (app.values.module_calls() if app.values else ())}


def _parser_call(flow: Flow, expr: Expr | None, line: int) -> tuple[Call, str] | None:
    """The ``XMLParser(...)`` call a parser argument names: built in place, assigned in the function or
    at module level."""
    if isinstance(expr, Call):
        return expr, flow.target(expr)
    if not isinstance(expr, Name):
        return None
    defs = [a for a in flow.assigns.get(expr.id, ()) if a.pos.line < line and a.value is not None]
    if defs:
        value = defs[-1].value
        return (value, flow.target(value)) if isinstance(value, Call) else None
    module = flow.app.module(flow.fn.module)
    for a in (module.facts.scope.assigns if module is not None else ()):
        if a.target == expr.id and isinstance(a.value, Call):
            target = memo(flow.app, _module_call_targets).get((module.path, a.value.line, a.value.col))
            return a.value, target or dotted(a.value.func) or ""
    return None


def _flag(call: Call, key: str) -> object:
    v = call.kwarg(key)
    return v.value if isinstance(v, Const) else (None if v is None else "?")


def lxml_risk(flow: Flow, site: CallSite, target: str) -> str | None:
    """"certain" (the parser resolves external entities), "default" (lxml's default parser, which
    resolves them before lxml 5.2), or None (entities off, or a parser that is not known)."""
    pos = LXML_PARSE[target][1]
    if pos < 0:
        opts: Call | None = site.call
    else:
        parser = call_arg(site.call, pos, "parser")
        if parser is None:
            if any(t == "lxml.etree.set_default_parser" for fn in flow.app.functions.values() for _, t in fn.calls):
                return None
            return "default"
        found = _parser_call(flow, parser, site.pos.line)
        if found is None or found[1] not in LXML_PARSERS:
            return None
        opts = found[0]
    resolve = _flag(opts, "resolve_entities")
    if resolve is True:
        return "certain"
    return "default" if resolve is None else None  # ``False``, ``"internal"``, or not a constant


def sax_external(flow: Flow) -> bool:
    """The function turns on a SAX external-entity feature (``parser.setFeature(feature_external_ges, True)``)."""
    for site, _ in flow.fn.calls:
        call = site.call
        if isinstance(call.func, Attr) and call.func.attr == "setFeature" and len(call.args) >= 2:
            feature, on = call.args[0], call.args[1]
            named = any(isinstance(x, Const) and isinstance(x.value, str) and x.value.endswith(SAX_FEATURES[2:])
                        or (dotted(x) or "").endswith(SAX_FEATURES[:2]) for x in walk(feature))
            if named and not (isinstance(on, Const) and not on.value):
                return True
    return False


@register
class XmlExternalEntities(Rule):
    code = "FAL534"
    name = "xml-external-entities"
    summary = "Request XML is parsed by a parser that resolves external entities (XXE)"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "for lxml's default parser, which resolves external entities before lxml 5.2"}
    confidence = Confidence.HIGH
    cwe = ("CWE-611",)
    owasp = ("API8:2023", "A05:2021")
    security_severity = 8.2

    def check(self, app: AppModel) -> Iterator[Finding]:
        risks: dict[tuple[str, int, int], str] = {}

        def resolves(ctx: Context, site: CallSite, arg: Expr, src: Source) -> bool:
            flow = ctx.flow
            target = next((t for s, t in flow.fn.calls if s is site), None) or ""
            risk = lxml_risk(flow, site, target) if target in LXML_PARSE else ("certain" if sax_external(flow) else None)
            if risk is not None:
                risks[(flow.fn.path, site.pos.line, site.pos.col)] = risk
            return risk is not None

        for t in traced_sinks(app, xml_sinks, "xml", resolves):
            certain = risks.get((t.ctx.function.path, t.site.pos.line, t.site.pos.col)) == "certain"
            harm = ("its parser resolves external entities: `<!ENTITY x SYSTEM \"file:///etc/passwd\">` reads server "
                    "files into the document" if certain else
                    "lxml's default parser resolves external entities before lxml 5.2 (`resolve_entities=True`), so "
                    "`<!ENTITY x SYSTEM \"file:///etc/passwd\">` reads server files on those versions")
            yield t.finding(self, f"{t.label}{where_in(t.ctx)} parses {t.src.text()} of `{t.ctx.route.display()}`: {harm}",
                            HELP, severity=None if certain else Severity.WARNING,
                            confidence=None if certain else Confidence.LOW)
