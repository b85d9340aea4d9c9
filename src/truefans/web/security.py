"""Who may talk to the local app, and how.

* Bound to a loopback address (the default) the app needs no token, but answers only requests whose
  ``Host`` is a loopback name (a web page cannot reach it through DNS rebinding).
* Bound anywhere else it needs the workspace's token: ``Authorization: Bearer <token>`` or the
  HTTP-only session cookie the login page sets. Without it every page and API call answers 401,
  except the login page.
* State-changing requests from a browser carry a CSRF token (double submit: an HTTP-only cookie and
  the same value in a form field or the ``X-CSRF-Token`` header), and a foreign ``Origin`` is
  refused. A request authenticated by its ``Authorization`` header carries no ambient credential and
  needs no CSRF token.
* Whatever the route, :class:`Guard` refuses a state-changing request (POST, PUT, PATCH, DELETE) that
  a browser marks as coming from another site (``Origin`` of another host, or ``Sec-Fetch-Site:
  cross-site``/``same-site``), so a page added later is covered without its own check.
* Every response carries the security headers of :func:`security_headers`: a Content Security
  Policy that lets pages load scripts, styles, images and connections from the app itself only (the
  API docs page, which FastAPI builds from a CDN, is the one exception and says so), no framing, no
  MIME sniffing, no referrer sent to other sites.
* Request bodies are capped while they stream (a missing or false ``Content-Length`` does not get
  past it): :data:`MAX_UPLOAD_REQUEST` for ``/upload``, :data:`MAX_FORM_REQUEST` elsewhere; beyond it
  the answer is 413 and nothing more is read.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ..workspace import Workspace

TOKEN_SETTING = "web_token"
SESSION_COOKIE = "truefans_session"
CSRF_COOKIE = "truefans_csrf"
CSRF_HEADER = "x-csrf-token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
#: paths answered without the token (the login page; it carries its own style)
PUBLIC_PATHS = {"/login"}
#: the largest request body for an upload (all its files together), and for any other request
MAX_UPLOAD_REQUEST = int(os.environ.get("TRUEFANS_UPLOAD_REQUEST_MAX_BYTES", str(2 * 1024**3)))
MAX_FORM_REQUEST = 1024**2
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: pages load only the app's own assets; inline style attributes are allowed (the charts set them)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: FastAPI's interactive API docs load Swagger UI from its CDN with an inline start-up script
DOCS_PATHS = {"/api/docs", "/api/docs/oauth2-redirect"}
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def workspace_token(ws: Workspace) -> tuple[str, bool]:
    """The workspace's web token, created on first use; (token, created now)."""
    token = ws.setting(TOKEN_SETTING)
    if token:
        return token, False
    token = secrets.token_urlsafe(32)
    ws.set_setting(TOKEN_SETTING, token)
    return token, True


def session_value(token: str) -> str:
    """The session cookie's value: derived from the token, never the token itself."""
    return hmac.new(token.encode(), b"truefans-session-v1", hashlib.sha256).hexdigest()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        k, sep, v = part.strip().partition("=")
        if sep:
            out[k] = v
    return out


def bearer_ok(headers: dict[str, str], token: str | None) -> bool:
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return (
        token is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(value.strip().encode(), token.encode())
    )


def authenticated(headers: dict[str, str], token: str | None) -> bool:
    if token is None:
        return True
    if bearer_ok(headers, token):
        return True
    cookie = _cookies(headers).get(SESSION_COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


def host_of(headers: dict[str, str]) -> str:
    host = headers.get("host", "")
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers every response of the app carries."""
    csp = DOCS_CSP if path in DOCS_PATHS else CSP
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        # same-origin, not no-referrer: under no-referrer Chromium posts this app's own forms
        # with "Origin: null", which the cross-site check must refuse; nothing goes elsewhere
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]


def cross_site(headers: dict[str, str]) -> bool:
    """The browser says this request comes from another site (or host)."""
    site = headers.get("sec-fetch-site", "")
    if site in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != headers.get("host", "")


class BodyTooLarge(Exception):
    """A request body went past its cap while it was being read."""


class Guard:
    """ASGI middleware: the loopback Host check without a token, the token check with one; the
    cross-site check on state-changing requests, the body cap and the security headers on all."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        max_upload: int | None = None,
        max_form: int | None = None,
    ) -> None:
        self.app = app
        self.token = token
        # None: the module's caps, read per request
        self.max_upload = max_upload
        self.max_form = max_form

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = scope.get("path", "")
        started = False

        async def send_secure(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                have = list(message.get("headers", []))
                names = {bytes(k).lower() for k, _ in have}
                extra = [(k, v) for k, v in security_headers(path) if k not in names]
                message = {**message, "headers": have + extra}
            await send(message)

        if self.token is None:
            if not is_loopback(host_of(headers)):
                await _deny(send_secure, path, 403, "this app answers on loopback names only")
                return
        elif path not in PUBLIC_PATHS and not authenticated(headers, self.token):
            await _deny(send_secure, path, 401, "authentication required: log in at /login")
            return
        method = str(scope.get("method", "GET")).upper()
        if method in UNSAFE_METHODS and not bearer_ok(headers, self.token) and cross_site(headers):
            await _deny(send_secure, path, 403, "a request from another site is refused")
            return
        if path == "/upload":
            limit = MAX_UPLOAD_REQUEST if self.max_upload is None else self.max_upload
        else:
            limit = MAX_FORM_REQUEST if self.max_form is None else self.max_form
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _deny(send_secure, path, 413, f"request body larger than {limit:,} bytes")
            return
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, receive_capped, send_secure)
        except BodyTooLarge:
            if not started:
                await _deny(send_secure, path, 413, f"request body larger than {limit:,} bytes")


async def _deny(send: Send, path: str, status: int, message: str) -> None:
    if path.startswith("/api/"):
        body = json.dumps({"ok": False, "error": message, "status": status}).encode()
        ctype = b"application/json"
    else:
        body = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>truefans: "
            f"{status}</title></head><body><h1>{status}</h1><p>{message}</p>"
            "<p><a href='/login'>Log in</a></p></body></html>"
        ).encode()
        ctype = b"text/html; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="truefans"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(headers: dict[str, str], submitted: str | None, token: str | None) -> bool:
    """A state-changing request is allowed: Bearer-authenticated, or same origin with the CSRF
    cookie echoed in a form field or header."""
    if bearer_ok(headers, token):
        return True
    origin = headers.get("origin")
    if origin and origin != "null":
        if urlsplit(origin).netloc != headers.get("host", ""):
            return False
    elif origin == "null":
        return False
    cookie = _cookies(headers).get(CSRF_COOKIE, "")
    value = submitted or headers.get(CSRF_HEADER, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), value.encode())


def safe_next(target: str | None) -> str:
    """Only a path of this app: never another host ('//evil', 'https://...')."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
