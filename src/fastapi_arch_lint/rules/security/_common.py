"""What several security rules share that is about one library's API, not the model."""

from __future__ import annotations

from fastapi_arch_lint.analysis.calls import CodeCall
from fastapi_arch_lint.analysis.values import call_value, dict_value
from fastapi_arch_lint.model.app import AppModel


def unverified_reason(app: AppModel, cc: CodeCall) -> str | None:
    """Why this JWT decode call does not verify the signature, or None when it does (FAL501, FAL502)."""
    call = cc.call
    options = dict_value(app, cc, call.arg(3, "options"))
    if isinstance(options, dict) and options.get("verify_signature") is False:
        return '`options={"verify_signature": False}`'
    if call_value(app, cc, call.kwarg("verify")) is False:
        return "`verify=False`"
    algorithms = call_value(app, cc, call.arg(2, "algorithms"))
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    if isinstance(algorithms, (tuple, list)) and any(isinstance(a, str) and a.lower() == "none" for a in algorithms):
        return '`algorithms` accepting `"none"` (unsigned tokens)'
    return None
