"""Security headers on every HTTP answer: the console's, the API's, the errors'."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The console serves its own script and stylesheet only (no inline script or style; htmx is
# told not to inject its indicator styles), so nothing else may run, load or frame it.
CONSOLE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# JSON answers load nothing at all.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The API docs pages (Swagger UI, ReDoc): their bundled assets from this host, their inline
# settings script and styles, ReDoc's worker; nothing from elsewhere.
API_DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds CSP, X-Frame-Options, X-Content-Type-Options, Referrer-Policy to every answer, and
    Strict-Transport-Security when the public URL is https (over http it would mean nothing,
    and a browser that saw it once would refuse a development server's plain http)."""

    def __init__(self, app: ASGIApp, *, https: bool, docs_paths: tuple[str, ...]) -> None:
        self.app = app
        self.https = https
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self._headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        if path in self.docs_paths:
            policy = API_DOCS_POLICY
        elif path.startswith("/api/"):
            policy = API_POLICY
        else:
            policy = CONSOLE_POLICY
        headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if self.https:
            headers.append((b"strict-transport-security", HSTS))
        return headers
