"""What stands between the network and a served app: request limits, one log line per request, a last net.

`Guard` wraps the model service and the policy service. It refuses a body over the limit with a
413 (by its Content-Length, or as a chunked body streams in), a body that stops arriving with a
408, and writes one log line per request: method, path, status, time and, for a refusal, the
one-sentence reason. An exception that no handler turned into a 4xx is a bug of ours: it is
logged once with its traceback and answered with a 500 sentence (uvicorn never sees it, so it
does not log it a second time). `body_error` says in one sentence why a body could not be parsed;
`check_port` and `check_address` say in one sentence why a server could not listen where asked.

    app.add_middleware(Guard, limit=20 * 1024 * 1024)
"""

from __future__ import annotations

import asyncio
import copy
import errno
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from neuronet.errors import ConfigError

__all__ = ["Guard", "BodyTooLarge", "BodyTooSlow", "body_error", "shown", "check_port", "check_address", "log_config"]

log = logging.getLogger("neuronet.serve")
BODY_IDLE_S = 30.0  # the longest wait for the next piece of a request body


class BodyTooLarge(HTTPException):
    """A request body over the service's limit: a 413 (an HTTPException, so FastAPI passes it through)."""

    def __init__(self, limit: int) -> None:
        size = f"{limit / (1024 * 1024):g} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
        super().__init__(413, f"The request body is over {size}; send fewer or smaller inputs per request.")


class BodyTooSlow(HTTPException):
    """A request body that stopped arriving: a 408."""

    def __init__(self, idle_s: float) -> None:
        super().__init__(408, f"The request body stopped arriving for {idle_s:g} s; send the whole body without "
                              "pauses.")


def shown(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters (with an ellipsis), for quoting a user's input in a sentence.

    Example:
        >>> shown("x" * 100, 10)
        'xxxxxxx...'
    """
    return text if len(text) <= limit else text[:limit - 3] + "..."


def body_error(cause: BaseException | None, content_type: str) -> str:
    """One sentence for a body the framework could not parse (`cause` is what parsing raised).

    Example:
        >>> body_error(RecursionError(), "application/json")
        'The JSON body is nested too deeply to read; an instance is a flat object of fields.'
    """
    if isinstance(cause, ClientDisconnect):
        return "The client closed the connection before the whole body arrived."
    if isinstance(cause, RecursionError):
        return "The JSON body is nested too deeply to read; an instance is a flat object of fields."
    if isinstance(cause, UnicodeDecodeError):
        return "The body is not valid UTF-8; send JSON text encoded as UTF-8."
    if isinstance(cause, ValueError) and "digits" in str(cause):  # int('9' * 5000): Python's int-size guard
        return "The body holds a number with thousands of digits; send numbers that fit a float."
    if content_type.startswith("multipart/"):
        return (f"The body cannot be read as multipart/form-data ({type(cause).__name__}); send the file as the "
                "form field 'file'.")
    return f"The body cannot be read as JSON ({type(cause).__name__}: {shown(str(cause), 100)})."


class Guard:
    """ASGI middleware: a body limit (413), an idle body timeout (408), one log line a request, a 500 for a bug.

    Args:
        app: The ASGI app to guard.
        limit: The most bytes a request body may have.
        idle_s: The longest wait for the next piece of a body.
    """

    def __init__(self, app: Any, limit: int, idle_s: float = BODY_IDLE_S) -> None:
        self.app, self.limit, self.idle_s = app, limit, idle_s

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        begun, seen, whole = time.perf_counter(), 0, False
        answer: dict[str, Any] = {"status": 0, "body": b""}

        async def tracking(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body" and answer["status"] >= 400 and len(answer["body"]) < 4096:
                answer["body"] += message.get("body", b"")
            await send(message)

        async def limited() -> dict:
            nonlocal seen, whole
            if whole:  # the body is in: a wait for the client to leave is not timed
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_s)
            except asyncio.TimeoutError:
                raise BodyTooSlow(self.idle_s) from None
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        try:
            if length.isdigit() and int(length) > self.limit:
                await _answer(tracking, BodyTooLarge(self.limit).status_code, BodyTooLarge(self.limit).detail)
            else:
                await self.app(scope, limited, tracking)
        except Exception as error:  # noqa: BLE001 - no handler made it a 4xx: a bug of ours, logged once
            log.error("%s %s: %s", scope.get("method"), shown(scope.get("path", ""), 120), type(error).__name__,
                      exc_info=error)
            if not answer["status"]:
                await _answer(tracking, 500, f"The service failed on this request ({type(error).__name__}), a bug "
                                             "in neuronet; the server log has the details.")
        self._log(scope, answer, time.perf_counter() - begun)

    @staticmethod
    def _log(scope: dict, answer: dict[str, Any], seconds: float) -> None:
        client = scope.get("client") or ("-", 0)
        line = (f"{client[0]}:{client[1]} {scope.get('method')} {shown(scope.get('path', ''), 120)} "
                f"{answer['status']} {1000 * seconds:.1f} ms")
        if answer["status"] >= 400:
            try:
                reason = json.loads(answer["body"]).get("detail")
            except (ValueError, AttributeError):
                reason = None
            line += f": {shown(str(reason), 300)}" if isinstance(reason, str) else ""
        log.log(logging.ERROR if answer["status"] >= 500 else logging.INFO, line)


async def _answer(send: Callable, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def check_port(port: int) -> int:
    """`port` if it is a TCP port one can listen on (1 to 65535).

    Raises:
        ConfigError: for any other number.

    Example:
        >>> check_port(8000)
        8000
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"--port must be a whole number from 1 to 65535. Got {port!r} instead.")
    return port


def check_address(host: str, port: int) -> None:
    """Bind `host`:`port` once (as uvicorn will, SO_REUSEADDR) to say in one sentence why serving there would fail.

    Raises:
        ConfigError: the port is taken, needs privileges, or the host is not an address of this machine.
    """
    check_port(port)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        raise ConfigError(f"--host {host!r} is not an address or a name this machine can resolve; use 127.0.0.1 "
                          "(this machine only) or 0.0.0.0 (every network).") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except PermissionError:
            raise ConfigError(f"Listening on port {port} needs administrator rights here; use a port from 1024 up "
                              "(e.g. --port 8000).") from None
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConfigError(f"Port {port} on {host} is already in use (another server?); stop it or pass "
                                  "another --port.") from None
            if error.errno == errno.EADDRNOTAVAIL:
                raise ConfigError(f"--host {host!r} is not an address of this machine; use 127.0.0.1 (this machine "
                                  "only) or 0.0.0.0 (every network).") from None
            raise ConfigError(f"Cannot listen on {host}:{port} ({error.strerror}); check --host and --port.") from None


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging config plus the service's own logger (one line a request), on the same stream."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["neuronet.serve"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    config["loggers"]["python_multipart"] = {"level": "ERROR"}  # its warnings repeat the refusal's reason
    return config
