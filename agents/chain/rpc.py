"""A lean synchronous JSON-RPC client for Ethereum nodes: HTTP(S), WebSocket, IPC.

web3.py's request stack (middlewares, formatters, a new request object per
call) costs more than the node itself on the simulation's hot path, and web3 8
has no synchronous WebSocket provider. :func:`connect` gives a
:class:`Transport` that sends JSON-RPC requests (one, or a batch in one round
trip) over one kept-alive connection; :class:`TransportProvider` wraps it for
web3, so the rest of emg (``Chain.w3``) uses the same connection.

A node's error answer raises :class:`RpcError` with its ``code``, ``message``
and ``data`` (which a node may give as a hex string or, Hardhat, as a dict).
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from .errors import ChainError

#: JSON-RPC error code of an unknown method
METHOD_NOT_FOUND = -32601


class RpcError(ChainError):
    """A JSON-RPC error answer.

    Attributes
    ----------
    method : str
    code : int
    message : str
    data : Any
        The error's ``data`` member (None if absent).
    """

    def __init__(self, method: str, code: int, message: str, data: Any = None):
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{method}: node answered error {code}: {message}")

    @property
    def unsupported(self) -> bool:
        """The node does not know the method (-32601, or a message saying so)."""
        text = self.message.lower()
        if self.code == METHOD_NOT_FOUND or "not supported" in text or "did not match any variant" in text:
            return True
        return "method" in text and any(w in text for w in ("not found", "does not exist", "not available",
                                                             "unknown"))


class Transport:
    """One connection to a node; :meth:`request` and :meth:`batch` are synchronous."""

    url: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._ids = itertools.count(1)

    # subclasses: one request body in, one response body out
    def _exchange(self, body: bytes) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def raw(self, method: str, params: Sequence[Any]) -> dict[str, Any]:
        """The node's whole response object to one request."""
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                           "params": list(params)}, default=_json_default).encode()
        try:
            out = json.loads(self._exchange(body))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise ChainError(f"JSON-RPC node at {self.url}: {method} failed: {exc}") from exc
        if not isinstance(out, dict):
            raise ChainError(f"JSON-RPC node at {self.url}: {method}: unexpected answer {out!r:.200}")
        return out

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The ``result`` of one request; an error answer raises :class:`RpcError`."""
        out = self.raw(method, params)
        err = out.get("error")
        if err is not None:
            raise _error(method, err)
        return out.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several requests in one round trip; each item is its ``result`` or an :class:`RpcError`."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
                           for i, (m, p) in zip(ids, calls)], default=_json_default).encode()
        try:
            out = json.loads(self._exchange(body))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise ChainError(f"JSON-RPC node at {self.url}: batch of {len(calls)} failed: {exc}") from exc
        if isinstance(out, dict):  # a node without batches answers with one error
            err = out.get("error") or {"code": 0, "message": f"unexpected answer {out!r:.200}"}
            return [_error(m, err) for m, _ in calls]
        by_id = {item.get("id"): item for item in out if isinstance(item, dict)}
        results: list[Any] = []
        for i, (m, _) in zip(ids, calls):
            item = by_id.get(i)
            if item is None:
                results.append(RpcError(m, 0, "no answer in the batch"))
            elif item.get("error") is not None:
                results.append(_error(m, item["error"]))
            else:
                results.append(item.get("result"))
        return results


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return "0x" + bytes(obj).hex()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _error(method: str, err: Any) -> RpcError:
    if not isinstance(err, dict):
        return RpcError(method, 0, str(err))
    return RpcError(method, int(err.get("code", 0) or 0), str(err.get("message", "")), err.get("data"))


class HttpTransport(Transport):
    """HTTP(S) with one kept-alive connection (reopened once if the node closed it)."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._timeout)
        conn.connect()
        if conn.sock is not None and not self._https:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _exchange(self, body: bytes) -> bytes:
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request("POST", self._path, body, headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest,
                    http.client.BadStatusLine):
                self.close()
                if attempt:
                    raise
                continue
            if resp.status != 200 and not data:
                raise ChainError(f"JSON-RPC node at {self.url}: HTTP {resp.status} {resp.reason}")
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class IpcTransport(Transport):
    """A Unix socket (a node's ``.ipc`` path); answers are read until one whole JSON value."""

    def __init__(self, path: str, timeout: float = 120.0) -> None:
        super().__init__(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise ChainError(f"no JSON-RPC node answers at IPC path {path}: {exc}") from exc
        self._buf = b""
        self._decoder = json.JSONDecoder()

    def _exchange(self, body: bytes) -> bytes:
        self._sock.sendall(body)
        while True:
            text = self._buf.lstrip()
            if text:
                try:
                    _, end = self._decoder.raw_decode(text.decode())
                except ValueError:
                    pass
                else:
                    encoded = text.decode()
                    self._buf = encoded[end:].encode()
                    return encoded[:end].encode()
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                raise ChainError(f"JSON-RPC node at {self.url} closed the connection")
            self._buf += chunk

    def close(self) -> None:
        self._sock.close()


class WsTransport(Transport):
    """A WebSocket (``ws://``, ``wss://``), synchronous (the ``websockets`` package web3 needs)."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        super().__init__(url)
        from websockets.sync.client import connect as ws_connect

        self._timeout = timeout
        try:
            self._ws = ws_connect(url, max_size=None, open_timeout=timeout, ping_interval=None,
                                  proxy=None, legacy=True)
        except Exception as exc:
            raise ChainError(f"no JSON-RPC node answers at {url}: {exc}") from exc

    def _exchange(self, body: bytes) -> bytes:
        self._ws.send(body.decode())
        msg = self._ws.recv(timeout=self._timeout)
        return msg.encode() if isinstance(msg, str) else bytes(msg)

    def close(self) -> None:
        self._ws.close()


def is_rpc_url(backend: str) -> bool:
    """True for an ``http(s)://`` or ``ws(s)://`` URL or an ``.ipc`` path."""
    return backend.startswith(("http://", "https://", "ws://", "wss://")) or backend.endswith(".ipc")


def connect(url: str, timeout: float = 120.0) -> Transport:
    """A transport for ``url``: ``http(s)://``, ``ws(s)://`` or a path ending in ``.ipc``."""
    if url.startswith(("http://", "https://")):
        return HttpTransport(url, timeout)
    if url.startswith(("ws://", "wss://")):
        return WsTransport(url, timeout)
    if url.endswith(".ipc"):
        return IpcTransport(url, timeout)
    raise ChainError(f"backend: expected an http(s):// or ws(s):// URL or an .ipc path, got {url!r}")


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate()`` (tight first, then backing off to 10 ms) until true or ``timeout``."""
    start = time.perf_counter()
    delay = 0.0005
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise ChainError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def provider(transport: Transport) -> Any:
    """A web3 provider that sends through ``transport`` (one connection for emg and web3)."""
    from web3.providers.base import JSONBaseProvider

    class TransportProvider(JSONBaseProvider):
        def make_request(self, method: Any, params: Any) -> Any:
            return transport.raw(str(method), list(params or []))

        def is_connected(self, show_traceback: bool = False) -> bool:
            try:
                transport.request("web3_clientVersion")
            except ChainError:
                if show_traceback:
                    raise
                return False
            return True

    return TransportProvider()
