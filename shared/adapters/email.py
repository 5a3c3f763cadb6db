"""Outgoing email: Resend in deployments, an outbox folder in development.

`ResendEmail` sends through the `resend` SDK (imported on first use). Without
RESEND_API_KEY outside production, `OutboxEmail` writes each message as an
.eml file under `.local/outbox/` and logs its link, so a developer can click
through locally. In production without a key there is no sender at all and
callers answer 503 (see `shared/platform/wiring.py`).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.platform.logs import log_event

if TYPE_CHECKING:
    from shared.platform.config import Settings

DEFAULT_RESEND_URL = "https://api.resend.com"
DEFAULT_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    html: str
    text: str
    link: str | None = None  # the message's call to action (logged by the outbox only)


class EmailError(Exception):
    """The email could not be sent (the provider refused it, failed or timed out).
    `reason` is safe to log: the provider's code, never its message (which can
    quote the recipient)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class ResendEmail:
    def __init__(
        self, api_key: str, sender: str, api_url: str | None = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ):
        self.api_key = api_key
        self.sender = sender
        self.api_url = (api_url or DEFAULT_RESEND_URL).rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._http: Any = None  # one connection pool for every send (built on first use)

    def _http_client(self) -> Any:
        """The SDK's own client opens a new httpx client, TLS context included, for
        every email; this one keeps a pool (and its connections to Resend)."""
        if self._http is None:
            import httpx
            from resend.http_client_async import AsyncHTTPClient

            pool = httpx.AsyncClient(timeout=self.timeout_seconds)

            class PooledClient(AsyncHTTPClient):
                async def request(
                    self,
                    method: str,
                    url: str,
                    headers: Mapping[str, str],
                    json: dict[str, object] | list[object] | None = None,
                    files: dict[str, Any] | None = None,
                    data: dict[str, str] | None = None,
                ) -> tuple[bytes, int, Mapping[str, str]]:
                    try:
                        response = await pool.request(
                            method,
                            url,
                            headers=headers,
                            files=files,
                            data=data,
                            json=json if data is None and files is None else None,
                        )
                    except httpx.RequestError as exc:  # the SDK turns this into a ResendError
                        raise RuntimeError(f"Request failed: {exc}") from exc
                    return response.content, response.status_code, response.headers

                async def aclose(self) -> None:
                    await pool.aclose()

            self._http = PooledClient()
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, message: EmailMessage, idempotency_key: str | None = None) -> str:
        """Send `message`; returns the provider's id or raises EmailError."""
        import resend
        from resend.exceptions import ResendError

        # The SDK reads these module globals synchronously when the request is
        # built, before its first await, so setting them here is safe per call.
        resend.api_key = self.api_key
        resend.api_url = self.api_url
        resend.default_async_http_client = self._http_client()
        params: resend.Emails.SendParams = {
            "from": self.sender,
            "to": [message.to],
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
        }
        options: resend.Emails.SendOptions | None = {"idempotency_key": idempotency_key} if idempotency_key else None
        try:
            sent = await asyncio.wait_for(resend.Emails.send_async(params, options), self.timeout_seconds + 5)
        except ResendError as exc:
            reason = f"refused {exc.code} {exc.error_type}"
            raise EmailError(f"Resend refused the email ({exc.code} {exc.error_type}): {exc.message}", reason) from None
        except TimeoutError:
            raise EmailError("Resend did not answer in time", "timeout") from None
        return str(sent["id"])


class OutboxEmail:
    """Development only: messages become files a developer can open."""

    def __init__(self, directory: Path, sender: str):
        self.directory = Path(directory)
        self.sender = sender

    async def send(self, message: EmailMessage, idempotency_key: str | None = None) -> str:
        from email.message import EmailMessage as MimeMessage

        mime = MimeMessage()
        mime["From"] = self.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        mime.set_content(message.text)
        mime.add_alternative(message.html, subtype="html")
        message_id = idempotency_key or uuid.uuid4().hex
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{_safe_name(message_id)}.eml"
        await asyncio.to_thread(_write, path, mime.as_bytes())
        log_event("email.outbox", to=message.to, subject=message.subject, file=str(path), link=message.link)
        return message_id


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:80]


def build_email(settings: Settings, outbox: Path) -> ResendEmail | OutboxEmail:
    if settings.RESEND_API_KEY:
        return ResendEmail(settings.RESEND_API_KEY, settings.EMAIL_FROM, settings.RESEND_API_URL or None)
    if settings.is_production:
        from shared.platform.errors import NotConfigured

        raise NotConfigured("Email is not configured: missing setting RESEND_API_KEY")
    return OutboxEmail(outbox, settings.EMAIL_FROM)
