"""Self-tests: the real resend SDK against ResendDouble."""

import pytest
import resend
from resend.exceptions import ApplicationError, ResendError, ValidationError

from tests.doubles.resend_server import ResendDouble

EMAIL = {
    "from": "Talenti <noreply@talenti.test>",
    "to": ["ana@example.test"],
    "subject": "Your interview",
    "html": "<p>Hi</p>",
    "text": "Hi",
}


@pytest.fixture
def double(monkeypatch):
    with ResendDouble(api_key="re_123") as d:
        # The SDK reads these module globals on every call.
        monkeypatch.setattr(resend, "api_url", d.url)
        monkeypatch.setattr(resend, "api_key", "re_123")
        yield d


def test_send_records_email(double):
    sent = resend.Emails.send(EMAIL)
    assert sent["id"] == double.sent_emails[0]["id"]
    recorded = double.sent_emails[0]
    assert recorded["to"] == ["ana@example.test"] and recorded["subject"] == "Your interview"
    assert recorded["html"] == "<p>Hi</p>" and recorded["text"] == "Hi"
    assert double.requests[0].headers["authorization"] == "Bearer re_123"


@pytest.mark.asyncio
async def test_send_async_and_idempotency(double):
    first = await resend.Emails.send_async(EMAIL, {"idempotency_key": "welcome/1"})
    again = await resend.Emails.send_async(EMAIL, {"idempotency_key": "welcome/1"})
    assert first["id"] == again["id"] and len(double.sent_emails) == 1
    assert double.requests[0].headers["idempotency-key"] == "welcome/1"


def test_validation_error(double):
    double.fail_validation("Invalid `to` field.")
    with pytest.raises(ValidationError) as err:
        resend.Emails.send(EMAIL)
    assert str(err.value.code) == "422" and "Invalid `to`" in err.value.message
    with pytest.raises(ResendError) as err:  # the double's own check
        resend.Emails.send({**EMAIL, "subject": ""})
    assert err.value.error_type == "missing_required_field"
    assert double.sent_emails == []


def test_server_error_and_wrong_key(double, monkeypatch):
    double.fail_next(500)
    with pytest.raises(ApplicationError):
        resend.Emails.send(EMAIL)
    monkeypatch.setattr(resend, "api_key", "re_wrong")
    with pytest.raises(ResendError) as err:
        resend.Emails.send(EMAIL)
    assert str(err.value.code) == "403" and err.value.error_type == "invalid_api_key"


def test_timeout(double, monkeypatch):
    monkeypatch.setattr(resend, "default_http_client", resend.RequestsClient(timeout=0.3))
    double.delay_seconds = 2
    with pytest.raises(ResendError) as err:
        resend.Emails.send(EMAIL)
    assert err.value.error_type == "HttpClientError"
    # Like a slow real server, the double still handles the request once the
    # delay is over, after the client gave up.
