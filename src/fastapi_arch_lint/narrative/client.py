"""Talking to Claude: settings, the request, bounded retries, and one-line errors.

* Key from ``ANTHROPIC_API_KEY`` (passed to the SDK explicitly, so no on-disk profile is ever read);
  base URL from ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``.
* The SDK's own retries are off (``max_retries=0``) and this module retries instead: at most
  ``MAX_RETRIES`` more attempts on 408/409/429/5xx/529 and on connection errors, waiting what
  ``retry-after-ms`` / ``retry-after`` ask for (or 0.5 s, 1 s... without them), but never longer than
  ``MAX_RETRY_WAIT``: an answer that asks for more is reported instead of waited for (the 2.x SDK
  would sleep whatever the server says). Nothing is retried once text has been shown.
* ``timeout`` is the SDK's (httpx) timeout: how long to wait to connect and for each read. When
  streaming, that is the longest silence allowed between two events, not the whole answer.
* Only ``text`` blocks are read; ``thinking`` blocks (on by default on the 5.5 models) are skipped.
* Every failure becomes :class:`NarrativeError` whose message is one line naming the cause.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_OUTPUT_TOKENS = 16_000
DEFAULT_TIMEOUT = 120.0  # seconds
DEFAULT_BASE_URL = "https://api.anthropic.com"
MAX_RETRIES = 2
MAX_RETRY_WAIT = 30.0  # seconds
FOCUSES = ("api", "database", "security")
CONFIG_KEYS = ("model", "max-output-tokens", "focus", "timeout")

# US$ per million tokens (input, output), platform.claude.com pricing as of late 2026
PRICES: dict[str, tuple[float, float]] = {
    "claude-sonnet-5-5": (2.0, 10.0),
    "claude-haiku-5-5": (0.10, 0.50),
    "claude-opus-5-5": (4.0, 20.0),
    "claude-fable-5-2": (8.0, 40.0),
    "claude-fable-5-1": (10.0, 50.0),
}


class NarrativeError(Exception):
    """The narrative could not be produced; ``str()`` is one line naming the cause."""


@dataclass(frozen=True, slots=True)
class NarrativeSettings:
    model: str = DEFAULT_MODEL
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    focus: str | None = None
    timeout: float = DEFAULT_TIMEOUT


def settings_from_config(table: Mapping[str, Any], where: object = None) -> NarrativeSettings:
    """``[tool.fastapi-arch-lint.narrative]`` validated; problems raise ``ConfigError`` (exit 2)."""
    from fastapi_arch_lint.config import ConfigError

    prefix = f"{where}: " if where else ""
    section = "[tool.fastapi-arch-lint.narrative]"
    s = NarrativeSettings()
    for key, value in table.items():
        if key == "model":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{prefix}`model` in {section} must be a model name such as \"{DEFAULT_MODEL}\"")
            s = replace(s, model=value.strip())
        elif key == "max-output-tokens":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 128_000:
                raise ConfigError(f"{prefix}`max-output-tokens` in {section} must be an integer from 1 to 128000")
            s = replace(s, max_output_tokens=value)
        elif key == "focus":
            if value not in FOCUSES:
                raise ConfigError(f"{prefix}`focus` in {section} must be one of {', '.join(FOCUSES)} (got {value!r})")
            s = replace(s, focus=value)
        elif key == "timeout":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{prefix}`timeout` in {section} must be a positive number of seconds")
            s = replace(s, timeout=float(value))
        else:
            raise ConfigError(f"{prefix}unknown key `{key}` in {section} (known: {', '.join(CONFIG_KEYS)})")
    return s


def resolve_settings(table: Mapping[str, Any], where: object = None, *, model: str | None = None,
                     max_output_tokens: int | None = None, focus: str | None = None) -> NarrativeSettings:
    """The config file's settings with the command line's on top."""
    from fastapi_arch_lint.config import ConfigError

    s = settings_from_config(table, where)
    if model is not None:
        if not model.strip():
            raise ConfigError("--model must not be empty")
        s = replace(s, model=model.strip())
    if max_output_tokens is not None:
        if not 1 <= max_output_tokens <= 128_000:
            raise ConfigError("--max-output-tokens must be from 1 to 128000")
        s = replace(s, max_output_tokens=max_output_tokens)
    if focus is not None:
        s = replace(s, focus=focus)
    return s


# ---------------------------------------------------------------------------
# cost


def price(model: str) -> tuple[float, float] | None:
    return PRICES.get(model)


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """US$ for a request without cache hits; None when the model's price is unknown."""
    p = price(model)
    if p is None:
        return None
    return input_tokens * p[0] / 1e6 + output_tokens * p[1] / 1e6


# ---------------------------------------------------------------------------
# the call


@dataclass(slots=True)
class NarrativeResult:
    text: str
    model: str
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    attempts: int = 1

    def cost(self) -> float | None:
        p = price(self.model)
        if p is None:
            return None
        # cache writes cost 1.25x input, cache reads 0.1x (5-minute ephemeral cache)
        return (self.input_tokens * p[0] + self.cache_creation_tokens * p[0] * 1.25
                + self.cache_read_tokens * p[0] * 0.1 + self.output_tokens * p[1]) / 1e6


RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def _error_detail(exc: Any) -> str:
    """``type: message`` from an API error body, on one line."""
    body = getattr(exc, "body", None)
    etype = msg = ""
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        etype = str(err.get("type", "") or "")
        msg = str(err.get("message", "") or "")
    elif isinstance(body, str):
        msg = body
    if not msg:
        msg = str(getattr(exc, "message", "") or "")
    msg = " ".join(msg.split())
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return f"{etype}: {msg}" if etype and msg else (etype or msg or "no details")


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
    except (TypeError, ValueError):
        pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except (TypeError, ValueError):
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return max(0.0, float(email.utils.mktime_tz(parsed) - time.time()))


def _status_message(status: int, detail: str, attempts: int, model: str) -> str:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status == 401:
        return f"the API rejected the key (401 {detail}); check ANTHROPIC_API_KEY"
    if status == 403:
        return f"the key may not use this API or model (403 {detail})"
    if status == 404:
        return f"not found (404 {detail}); check the model name `{model}` and ANTHROPIC_BASE_URL"
    if status == 413:
        return f"the brief is too large for the API (413 {detail}); narrow it with --focus"
    if status == 429:
        return f"rate limited by the API (429 {detail}){tries}"
    if status >= 500:
        return f"the API failed ({status} {detail}){tries}"
    if status == 200:  # an ``error`` event inside a stream
        return f"the API reported an error while answering ({detail}){tries}"
    return f"the API refused the request ({status} {detail})"


_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")


def _scrub(text: str, api_key: str) -> str:
    """An API or proxy may echo the key in its error text: never print it."""
    if len(api_key) >= 8:  # a real key; a one-letter test key would mangle every message
        text = text.replace(api_key, "<redacted>")
    return _KEY_SHAPE.sub("<redacted>", text)


def generate(system: list[dict[str, Any]], user: str, settings: NarrativeSettings, *, api_key: str,
             base_url: str | None = None, stream: bool = True, on_text: Callable[[str], None] | None = None,
             max_retries: int = MAX_RETRIES, max_retry_wait: float = MAX_RETRY_WAIT,
             sleep: Callable[[float], None] = time.sleep) -> NarrativeResult:
    """Send one Messages request; stream text to ``on_text``; raise :class:`NarrativeError` on failure.

    Error messages never contain the API key, even when the server echoes it."""
    try:
        return _generate(system, user, settings, api_key=api_key, base_url=base_url, stream=stream,
                         on_text=on_text, max_retries=max_retries, max_retry_wait=max_retry_wait, sleep=sleep)
    except NarrativeError as exc:
        raise NarrativeError(_scrub(str(exc), api_key)) from None


def _generate(system: list[dict[str, Any]], user: str, settings: NarrativeSettings, *, api_key: str,
              base_url: str | None, stream: bool, on_text: Callable[[str], None] | None,
              max_retries: int, max_retry_wait: float, sleep: Callable[[float], None]) -> NarrativeResult:
    import anthropic

    base = base_url or DEFAULT_BASE_URL
    client = anthropic.Anthropic(api_key=api_key, base_url=base, max_retries=0, timeout=settings.timeout)
    emitted = False

    def emit(text: str) -> None:
        nonlocal emitted
        if text:
            emitted = True
            if on_text is not None:
                on_text(text)

    attempt = 0
    while True:
        attempt += 1
        wait: float | None = None
        try:
            result = _once(client, system, user, settings, stream=stream, emit=emit)
            result.attempts = attempt
            return result
        except anthropic.APITimeoutError:
            raise NarrativeError(
                f"no answer from the API at {base} within {settings.timeout:g} s (timeout); "
                "raise `timeout` under [tool.fastapi-arch-lint.narrative]") from None
        except anthropic.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            message = f"cannot reach the API at {base} ({type(cause).__name__}: {' '.join(str(cause).split())[:120]})"
            if emitted or attempt > max_retries:
                raise NarrativeError(message + (f" after {attempt} attempts" if attempt > 1 else "")) from None
            wait = min(0.5 * 2 ** (attempt - 1), max_retry_wait)
        except anthropic.APIStatusError as exc:
            status = exc.status_code
            detail = _error_detail(exc)
            body = exc.body if isinstance(exc.body, dict) else {}
            err = body.get("error") if isinstance(body.get("error"), dict) else {}
            retryable = status in RETRY_STATUSES or (
                status == 200 and err.get("type") in ("overloaded_error", "api_error", "rate_limit_error"))
            if emitted or not retryable or attempt > max_retries:
                raise NarrativeError(_status_message(status, detail, attempt, settings.model)) from None
            asked = _retry_after(exc.response.headers if exc.response is not None else None)
            if asked is not None and asked > max_retry_wait:
                raise NarrativeError(_status_message(status, detail, attempt, settings.model)
                                     + f"; the API asks to wait {asked:g} s before retrying") from None
            wait = asked if asked is not None else min(0.5 * 2 ** (attempt - 1), max_retry_wait)
        except anthropic.APIResponseValidationError as exc:
            raise NarrativeError(f"the API's answer could not be read (malformed response: {exc.message})") from None
        except NarrativeError:
            raise
        except anthropic.AnthropicError as exc:
            raise NarrativeError(f"the request failed ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError) as exc:
            # a body that is not JSON, an event the SDK cannot place, a missing field
            kind = "not JSON" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            text = " ".join(str(exc).split())[:120]
            raise NarrativeError(f"the API's answer could not be read (malformed response: {kind}: {text})") from None
        sleep(wait)


def _once(client: Any, system: list[dict[str, Any]], user: str, settings: NarrativeSettings, *, stream: bool,
          emit: Callable[[str], None]) -> NarrativeResult:
    params: dict[str, Any] = {
        "model": settings.model,
        "max_tokens": settings.max_output_tokens,
        "system": system,
        "messages": [{"role": "user", "content": user}],
    }
    if stream:
        parts: list[str] = []
        with client.messages.stream(**params) as s:
            for text in s.text_stream:
                parts.append(text)
                emit(text)
            message = s.get_final_message()
        text = "".join(parts)
    else:
        message = client.messages.create(**params)
        if isinstance(message, (str, bytes)) or not hasattr(message, "content"):
            raise ValueError(f"expected a message object, got {type(message).__name__}")
        text = "".join(getattr(b, "text", "") for b in message.content if getattr(b, "type", None) == "text")
        emit(text)
    usage = getattr(message, "usage", None)
    result = NarrativeResult(
        text=text,
        model=str(getattr(message, "model", None) or settings.model),
        stop_reason=getattr(message, "stop_reason", None),
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        cache_read_tokens=int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        cache_creation_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
    )
    if not text.strip():
        raise NarrativeError(f"the API's answer contained no text (stop reason: {result.stop_reason or 'none'})")
    return result
