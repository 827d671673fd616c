"""A fake Anthropic Messages API on 127.0.0.1 for tests (standard library only).

Speaks what the real ``anthropic`` client needs: ``POST /v1/messages`` answered as JSON or, when
the request says ``"stream": true``, as server-sent events (``message_start``,
``content_block_*``, ``message_delta``, ``message_stop``). Replies are scripted per test, in order;
every request's JSON body and headers are recorded for assertions.

    with FakeAnthropic() as fake:
        fake.push(message("## Architecture Overview\\n...", thinking="let me see"))
        client = anthropic.Anthropic(api_key="test", base_url=fake.url, max_retries=0)
        ...
        assert fake.requests[0].body["system"][0]["cache_control"] == {"type": "ephemeral"}

Replies: :func:`message` (JSON or SSE, following the request), :func:`error` (a status with an
API error body and optional headers such as ``retry-after``), :func:`hang` (send nothing for a
while), :func:`malformed` (a 200 whose body is not what the client expects). With nothing
scripted the fake answers 500 ``no scripted reply``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "claude-sonnet-5-5"


@dataclass
class Reply:
    kind: str  # "message" | "error" | "hang" | "malformed" | "sse_error"
    text: str = ""
    chunks: list[str] | None = None
    thinking: str | None = None
    status: int = 200
    error_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    body: str = ""
    content_type: str = "application/json"
    stop_reason: str = "end_turn"
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 1234, "output_tokens": 321})


def message(text: str, *, thinking: str | None = None, chunks: list[str] | None = None,
            stop_reason: str = "end_turn", usage: dict[str, int] | None = None) -> Reply:
    """A successful answer: optional thinking block first, then one text block (streamed in ``chunks``)."""
    r = Reply("message", text=text, thinking=thinking, chunks=chunks, stop_reason=stop_reason)
    if usage is not None:
        r.usage = usage
    return r


def error(status: int, error_type: str, text: str = "scripted error", headers: dict[str, str] | None = None) -> Reply:
    return Reply("error", text=text, status=status, error_type=error_type, headers=dict(headers or {}))


def hang(seconds: float) -> Reply:
    """Accept the request and send nothing for ``seconds`` (cut short when the fake closes)."""
    return Reply("hang", seconds=seconds)


def malformed(body: str = "{this is not json", content_type: str = "application/json") -> Reply:
    """A 200 whose body is broken; with ``text/event-stream`` it is sent as one broken event."""
    return Reply("malformed", body=body, content_type=content_type)


def sse_error(error_type: str = "overloaded_error", text: str = "Overloaded") -> Reply:
    """A stream that starts and then reports an ``error`` event before any text."""
    return Reply("sse_error", error_type=error_type, text=text)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # the parsed JSON, or None


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeAnthropic:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                with fake._lock:
                    fake.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  raw, body))
                    reply = fake.replies.popleft() if fake.replies else error(500, "api_error", "no scripted reply")
                stream = isinstance(body, dict) and body.get("stream") is True
                try:
                    fake._answer(self, reply, stream, body if isinstance(body, dict) else {})
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeAnthropic":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    @property
    def messages_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/v1/messages")]

    # -- answers -----------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, content_type: str, payload: bytes,
              headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("content-type", content_type)
        h.send_header("content-length", str(len(payload)))
        h.send_header("request-id", f"req_fake_{len(self.requests)}")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)
        h.wfile.flush()

    def _answer(self, h: BaseHTTPRequestHandler, reply: Reply, stream: bool, body: dict[str, Any]) -> None:
        model = str(body.get("model") or MODEL)
        if reply.kind == "error":
            payload = json.dumps({"type": "error", "error": {"type": reply.error_type, "message": reply.text}})
            self._send(h, reply.status, "application/json", payload.encode(), reply.headers)
        elif reply.kind == "hang":
            self._closing.wait(reply.seconds)
            self._send(h, 500, "application/json", b'{"type":"error","error":{"type":"api_error","message":"late"}}')
        elif reply.kind == "malformed":
            payload = reply.body.encode()
            if reply.content_type == "text/event-stream":
                payload = b"event: message_start\ndata: " + payload + b"\n\n"
            self._send(h, 200, reply.content_type, payload)
        elif reply.kind == "sse_error":
            payload = _sse("message_start", {"type": "message_start", "message": self._message(model, [], None, reply)})
            payload += _sse("error", {"type": "error", "error": {"type": reply.error_type, "message": reply.text}})
            self._send(h, 200, "text/event-stream", payload)
        elif stream:
            self._stream(h, reply, model)
        else:
            content: list[dict[str, Any]] = []
            if reply.thinking is not None:
                content.append({"type": "thinking", "thinking": reply.thinking, "signature": "fake-signature"})
            content.append({"type": "text", "text": reply.text})
            msg = self._message(model, content, reply.stop_reason, reply)
            self._send(h, 200, "application/json", json.dumps(msg).encode())

    @staticmethod
    def _message(model: str, content: list[dict[str, Any]], stop_reason: str | None, reply: Reply) -> dict[str, Any]:
        return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop_reason, "stop_sequence": None, "usage": dict(reply.usage)}

    def _stream(self, h: BaseHTTPRequestHandler, reply: Reply, model: str) -> None:
        start = self._message(model, [], None, reply)
        start["usage"] = {**reply.usage, "output_tokens": 1}
        events = [_sse("message_start", {"type": "message_start", "message": start}),
                  _sse("ping", {"type": "ping"})]
        index = 0
        if reply.thinking is not None:
            events.append(_sse("content_block_start", {"type": "content_block_start", "index": index,
                                                       "content_block": {"type": "thinking", "thinking": "",
                                                                         "signature": ""}}))
            events.append(_sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "thinking_delta", "thinking": reply.thinking}}))
            events.append(_sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "signature_delta",
                                                                 "signature": "fake-signature"}}))
            events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        events.append(_sse("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}}))
        for chunk in reply.chunks if reply.chunks is not None else [reply.text]:
            events.append(_sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "text_delta", "text": chunk}}))
        events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(_sse("message_delta", {"type": "message_delta",
                                             "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                                             "usage": {"output_tokens": reply.usage.get("output_tokens", 0)}}))
        events.append(_sse("message_stop", {"type": "message_stop"}))
        payload = b"".join(events)
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("cache-control", "no-cache")
        h.send_header("content-length", str(len(payload)))
        h.end_headers()
        # one event per write, so the client really reads a stream
        for e in events:
            h.wfile.write(e)
            h.wfile.flush()
