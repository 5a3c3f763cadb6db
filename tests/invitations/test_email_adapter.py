"""The email adapter: the real resend SDK against ResendDouble, and the development outbox."""

import email
import email.policy

import pytest
import resend

from shared.adapters.email import EmailError, EmailMessage, OutboxEmail, ResendEmail, build_email
from shared.platform.config import Settings
from shared.platform.errors import NotConfigured
from tests.doubles.resend_server import ResendDouble

pytestmark = pytest.mark.io  # the Resend double on loopback

MESSAGE = EmailMessage(
    to="ana@example.test",
    subject="Your interview",
    html="<p>Hi <b>Ana</b></p>",
    text="Hi Ana",
    link="http://localhost:5173/invite/abc",
)


@pytest.fixture
def resend_globals(monkeypatch):
    """The SDK's configuration is module-wide: put it back after each test."""
    for name in ("api_key", "api_url", "default_async_http_client"):
        monkeypatch.setattr(resend, name, getattr(resend, name))


@pytest.fixture
def double(resend_globals):
    with ResendDouble(api_key="re_adapter_key") as d:
        yield d


def sender(double, **kwargs) -> ResendEmail:
    return ResendEmail("re_adapter_key", "Talenti <no-reply@talenti.test>", double.url, **kwargs)


async def test_sends_both_parts_with_an_idempotency_key(double):
    message_id = await sender(double).send(MESSAGE, idempotency_key="invitation-1")
    [sent] = double.sent_emails
    assert sent["id"] == message_id
    assert sent["to"] == ["ana@example.test"] and sent["from"] == "Talenti <no-reply@talenti.test>"
    assert (sent["subject"], sent["html"], sent["text"]) == ("Your interview", MESSAGE.html, MESSAGE.text)
    request = double.requests[0]
    assert request.headers["authorization"] == "Bearer re_adapter_key"
    assert request.headers["idempotency-key"] == "invitation-1"


@pytest.mark.parametrize("status", [401, 403, 422, 429])
async def test_a_refusal_is_an_email_error(double, status):
    double.fail_next(status)
    with pytest.raises(EmailError) as raised:
        await sender(double).send(MESSAGE)
    assert str(status) in str(raised.value)
    assert double.sent_emails == []


async def test_a_server_error_is_an_email_error(double):
    double.fail_next(500)
    with pytest.raises(EmailError, match="500"):
        await sender(double).send(MESSAGE)


async def test_a_wrong_key_is_an_email_error(double):
    with pytest.raises(EmailError, match="403"):
        await ResendEmail("re_wrong", "x@talenti.test", double.url).send(MESSAGE)


async def test_a_timeout_is_an_email_error(double):
    double.delay_seconds = 3
    with pytest.raises(EmailError):
        await sender(double, timeout_seconds=0.3).send(MESSAGE)


async def test_an_unreachable_service_is_an_email_error(resend_globals):
    with pytest.raises(EmailError):
        await ResendEmail("re_key", "x@talenti.test", "http://127.0.0.1:9", timeout_seconds=2).send(MESSAGE)


async def test_the_outbox_writes_a_complete_message(tmp_path, caplog):
    outbox = OutboxEmail(tmp_path / "outbox", "Talenti <no-reply@talenti.local>")
    with caplog.at_level("INFO", logger="talenti"):
        message_id = await outbox.send(MESSAGE, idempotency_key="invitation-42")
    [path] = (tmp_path / "outbox").iterdir()
    assert path.suffix == ".eml" and "invitation-42" in path.name and message_id == "invitation-42"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "ana@example.test" and parsed["Subject"] == "Your interview"
    assert parsed.get_body(("html",)).get_content().strip() == MESSAGE.html
    assert parsed.get_body(("plain",)).get_content().strip() == MESSAGE.text
    assert MESSAGE.link in caplog.text  # the developer clicks through from the log


def test_which_sender_the_settings_give(tmp_path):
    assert isinstance(build_email(Settings(APP_ENV="test", RESEND_API_KEY="re_k"), tmp_path), ResendEmail)
    assert isinstance(build_email(Settings(APP_ENV="development"), tmp_path), OutboxEmail)
    production = Settings(
        APP_ENV="production",
        DATABASE_URL="postgresql://x",
        SUPABASE_URL="https://x.supabase.co",
        SERVICE_API_KEY="a-real-key",
        SITE_URL="https://app.example",
    )
    with pytest.raises(NotConfigured, match="RESEND_API_KEY"):
        build_email(production, tmp_path)
    blank_url = Settings(APP_ENV="test", RESEND_API_KEY="re_k", RESEND_API_URL="")
    assert build_email(blank_url, tmp_path).api_url == "https://api.resend.com"
