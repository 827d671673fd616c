"""What well-known library calls are, by their resolved target: JWT encoding and decoding,
outbound HTTP clients."""

from __future__ import annotations

import re
from functools import lru_cache

# ---------------------------------------------------------------------------
# JWT


@lru_cache(maxsize=4096)  # asked for every call in the project by several rules
def jwt_decode_library(target: str | None) -> str | None:
    """``pyjwt`` or ``python-jose`` when ``target`` decodes (and verifies) a JWT."""
    if not target:
        return None
    if target in ("jose.jwt.decode", "jose.jwt.api_jwt.decode"):
        return "python-jose"
    if re.fullmatch(r"jwt\.(?:api_jwt\.|api_jws\.)?(?:(?:PyJWT|PyJWS)(?:\(\))?\.)?decode(?:_complete)?", target):
        return "PyJWT"
    return None


@lru_cache(maxsize=4096)  # asked for every call in the project by several rules
def jwt_encode_library(target: str | None) -> str | None:
    if not target:
        return None
    if target in ("jose.jwt.encode", "jose.jwt.api_jwt.encode"):
        return "python-jose"
    if re.fullmatch(r"jwt\.(?:api_jwt\.)?(?:PyJWT(?:\(\))?\.)?encode", target):
        return "PyJWT"
    return None


def short_target(target: str) -> str:
    """``jwt.decode``, ``httpx.Client().get`` as the reader would write it."""
    for prefix in ("jose.jwt.", "jwt.api_jwt.", "jwt.api_jws."):
        if target.startswith(prefix):
            return "jwt." + target[len(prefix):]
    return target


# ---------------------------------------------------------------------------
# outbound HTTP clients

HTTP_VERBS = r"(?:get|post|put|patch|delete|head|options|request)"
# ``requests.get``, ``requests.Session().get``, a ``session: requests.Session`` parameter's ``.get``
REQUESTS_CALL_RE = re.compile(
    rf"requests\.(?:api\.)?{HTTP_VERBS}"
    rf"|requests\.(?:sessions\.)?(?:Session|session)(?:\(\))?\.{HTTP_VERBS}"
)
HTTPX_FUNC_RE = re.compile(rf"httpx\.(?:{HTTP_VERBS}|stream)")
HTTPX_CLIENT_RE = re.compile(r"httpx\.(?:_client\.)?(?:Client|AsyncClient|HTTPTransport|AsyncHTTPTransport)")
HTTPX_METHOD_RE = re.compile(rf"httpx\.(?:_client\.)?(?:Client|AsyncClient)(?:\(\))?\.(?:{HTTP_VERBS}|stream|send)")
AIOHTTP_RE = re.compile(rf"aiohttp\.(?:request|TCPConnector|ClientSession(?:\(\))?\.(?:{HTTP_VERBS}|ws_connect))")


@lru_cache(maxsize=4096)  # asked for every call in the project by several rules
def http_client_kind(target: str | None) -> str | None:
    """``requests``, ``httpx``, ``aiohttp`` or ``urllib`` when ``target`` makes (or configures) outbound HTTP."""
    if not target:
        return None
    if REQUESTS_CALL_RE.fullmatch(target):
        return "requests"
    if HTTPX_FUNC_RE.fullmatch(target) or HTTPX_CLIENT_RE.fullmatch(target) or HTTPX_METHOD_RE.fullmatch(target):
        return "httpx"
    if AIOHTTP_RE.fullmatch(target):
        return "aiohttp"
    if target in ("urllib.request.urlopen",):
        return "urllib"
    return None


def call_label(target: str) -> str:
    """``httpx.AsyncClient().get`` -> ``httpx.AsyncClient.get`` for messages."""
    return target.replace("()", "")
