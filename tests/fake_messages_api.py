"""A real HTTP server speaking the Anthropic Messages API, answering from a script.

Tests queue the answers (`reply`), point the SDK at `base_url`, and read back each request
body the SDK sent (`requests`). It answers `POST /v1/messages` only; with nothing queued it
answers 400, which the SDK does not retry, so a test that asks too much fails at once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (longer than the client's timeout: a timeout).
    delay_s: float = 0.0


def tool_use(
    tool_input: dict[str, Any],
    *,
    name: str = "record_meeting_notes",
    input_tokens: int = 1200,
    output_tokens: int = 300,
    cache_read_tokens: int = 0,
    delay_s: float = 0.0,
) -> Answer:
    """A message whose one content block calls the tool `name` with `tool_input`."""
    block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name}
    content = [{**block, "input": tool_input}]
    return _message(content, "tool_use", input_tokens, output_tokens, cache_read_tokens, delay_s)


def text_only(text: str) -> Answer:
    """A message that answers in prose and calls no tool."""
    return _message([{"type": "text", "text": text}], "end_turn", 1000, 50, 0, 0.0)


def error(status: int, error_type: str, *, retry_after: str | None = "0.01") -> Answer:
    """An error answer; a positive `retry-after` is what the SDK waits (0 means its backoff)."""
    headers = {} if retry_after is None else {"retry-after": retry_after}
    body = {"type": "error", "error": {"type": error_type, "message": f"fake {error_type}"}}
    return Answer(status, body, headers)


def rate_limited() -> Answer:
    return error(429, "rate_limit_error")


def overloaded() -> Answer:
    return error(529, "overloaded_error")


def _message(
    content: list[dict[str, Any]],
    stop_reason: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    delay_s: float,
) -> Answer:
    body = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": "",  # the model asked for, filled in when answering
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cache_read_tokens,
        },
    }
    return Answer(200, body, delay_s=delay_s)


class FakeMessagesAPI:
    """The server; `requests` holds each request body received, in order of arrival."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, *answers: Answer) -> None:
        """Queue answers, given in the order requests will get them."""
        with self._lock:
            self._answers.extend(answers)

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)
            if self._answers:
                return self._answers.popleft()
        return error(400, "invalid_request_error", retry_after=None)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?")[0] != "/v1/messages":
                    self.send_error(404)
                    return
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                answer = api._next(body, {k.lower(): v for k, v in self.headers.items()})
                time.sleep(answer.delay_s)
                reply = dict(answer.body)
                if reply.get("type") == "message":
                    reply["model"] = body.get("model", "")
                payload = json.dumps(reply).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.send_header("request-id", f"req_{uuid.uuid4().hex[:12]}")
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def fake_messages_api() -> Iterator[FakeMessagesAPI]:
    api = FakeMessagesAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()
