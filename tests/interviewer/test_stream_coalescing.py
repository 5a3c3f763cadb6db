"""POST /api/ai/interviewer/stream: deltas that arrive together share one SSE
event, the first delta goes out on its own, a failure after some text still
ends the stream properly, and a client that leaves stops everything it started."""

from __future__ import annotations

import asyncio
import gc
import json
import logging

import pytest

from shared.interviewer import competency_prompts as competency_prompt
from tests.ai.fixtures import route_replies
from tests.doubles.openai_server import ScriptedReply, tool_call_reply
from tests.interviewer.test_interviewer import conversation, interview_for, segments, sse_events, turn
from tests.support import auth_headers, create_user, function_host, make_request

pytestmark = pytest.mark.usefixtures("ai_services")

LONG_REPLY = (
    "Thank you, that migration sounds substantial. When you moved the dashboard to React, "
    "how did you decide what to rewrite first, and how did you keep the juniors productive meanwhile?"
)
PIECES = 40


def pieces(text: str, count: int) -> list[str]:
    """The deltas the double sends for `text` split in `count` (its own rule)."""
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def assessment(*keys, **options):
    return tool_call_reply(competency_prompt.TOOL_NAME, {"detectedCompetencies": list(keys)}, **options)


def contents(events) -> list[str]:
    return [e["content"] for e in events if isinstance(e, dict) and "content" in e]


async def test_a_burst_of_deltas_becomes_fewer_events_with_the_same_text(db, model_double, unique_ip):
    # The whole reply arrives in one write, as a backlog does on a busy host.
    route_replies(
        model_double,
        text=ScriptedReply(content=LONG_REPLY, chunks=PIECES, burst=PIECES + 3),
        tools={competency_prompt.TOOL_NAME: assessment("communication")},
    )
    user = await create_user(db)
    interview = await interview_for(db, user)
    result = await turn(user, {"messages": conversation(), "interviewId": str(interview)}, unique_ip, stream=True)
    assert result.status == 200
    events = sse_events(result.raw)
    sent = contents(events)
    deltas = pieces(LONG_REPLY, PIECES)
    assert sent[0] == deltas[0]  # the first delta is its own event, sent at once
    assert 1 < len(sent) < len(deltas) // 4
    assert "".join(sent) == LONG_REPLY
    assert events[-2] == {
        "done": True,
        "message": LONG_REPLY,
        "detectedCompetencies": ["communication"],
        "competencyCovered": "communication",
    }
    assert events[-1] == "[DONE]"
    assert [s["content"] for s in await segments(db, interview)][-1] == LONG_REPLY


async def test_an_error_behind_queued_text_still_ends_with_the_error_and_DONE(db, model_double, unique_ip):
    # Five events (role, then four deltas) in one write, then the connection drops.
    route_replies(
        model_double,
        text=ScriptedReply(content=LONG_REPLY, chunks=8, burst=10, break_after_chunks=5),
        tools={competency_prompt.TOOL_NAME: assessment()},
    )
    user = await create_user(db)
    interview = await interview_for(db, user)
    result = await turn(user, {"messages": conversation(), "interviewId": str(interview)}, unique_ip, stream=True)
    assert result.status == 200
    events = sse_events(result.raw)
    assert "".join(contents(events)) == "".join(pieces(LONG_REPLY, 8)[:4])  # all the text that came, once
    assert set(events[-2]) == {"error"} and events[-2]["error"]
    assert events[-1] == "[DONE]"
    assert not any(isinstance(e, dict) and e.get("done") for e in events)
    assert await segments(db, interview) == []


# --- a client that leaves mid-stream ---------------------------------------------------------


def interviewer_tasks() -> list[asyncio.Task]:
    """Unfinished tasks running the stream's reader or the competency assessment."""
    names = {"_read", "detect_competencies"}
    return [t for t in asyncio.all_tasks() if not t.done() and t.get_coro().__qualname__ in names]


async def open_slow_stream(db, model_double, unique_ip):
    """A stream whose model is still producing and whose assessment is still
    running when the client leaves."""
    route_replies(
        model_double,
        text=ScriptedReply(content=LONG_REPLY, chunks=20, chunk_interval=0.2),
        tools={competency_prompt.TOOL_NAME: assessment("communication", delay=3)},
    )
    user = await create_user(db)
    request = make_request(
        "POST",
        "/api/ai/interviewer/stream",
        {"messages": conversation()},
        auth_headers(user),
        client_ip=unique_ip,
    )
    response = await function_host().invoke("ai_interviewer_stream", request)
    assert response.status_code == 200
    return response


@pytest.fixture
def asyncio_errors(caplog):
    """What asyncio logs (a task destroyed while pending, an exception never retrieved)."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    yield caplog
    gc.collect()


def stream_closed(caplog) -> bool:
    """The AI adapter logs a streamed call once its HTTP stream is closed."""
    for record in caplog.records:
        if record.name == "talenti" and '"event":"ai.call"' in record.getMessage():
            fields = json.loads(record.getMessage())
            if fields.get("stream") and fields.get("purpose") == "interviewer":
                return True
    return False


async def test_client_closing_the_stream_leaves_no_task_and_closes_the_model_stream(
    db, model_double, unique_ip, caplog, asyncio_errors
):
    caplog.set_level(logging.INFO, logger="talenti")
    response = await open_slow_stream(db, model_double, unique_ip)
    body = response.body_iterator
    first = await anext(body)
    assert json.loads(first.decode()[len("data: ") :]) == {"content": pieces(LONG_REPLY, 20)[0]}
    await anext(body)  # a second event: the reader is now waiting on the model mid-reply
    assert len(interviewer_tasks()) == 2 and not stream_closed(caplog)

    await body.aclose()  # what the server does with a response whose client has gone

    assert interviewer_tasks() == []
    assert stream_closed(caplog)
    gc.collect()
    await asyncio.sleep(0)
    assert "was destroyed but it is pending" not in asyncio_errors.text
    assert "never retrieved" not in asyncio_errors.text


async def test_client_disconnect_through_starlette_cancels_everything(db, model_double, unique_ip, asyncio_errors):
    """The server's own path: Starlette's StreamingResponse watching for
    `http.disconnect` cancels the task that writes the events."""
    response = await open_slow_stream(db, model_double, unique_ip)
    bodies: list[bytes] = []
    second_event = asyncio.Event()

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            bodies.append(message["body"])
            if len(bodies) == 2:
                second_event.set()

    async def receive():
        await second_event.wait()
        return {"type": "http.disconnect"}

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}}
    await asyncio.wait_for(response(scope, receive, send), timeout=10)

    assert len(bodies) == 2 and b"[DONE]" not in b"".join(bodies)  # left mid-reply
    for _ in range(100):  # the reader may finish closing the model stream on its own task
        if not interviewer_tasks():
            break
        await asyncio.sleep(0.01)
    assert interviewer_tasks() == []
    gc.collect()
    assert "was destroyed but it is pending" not in asyncio_errors.text


async def test_cancelling_the_writer_mid_stream_cancels_the_reader(db, model_double, unique_ip, asyncio_errors):
    response = await open_slow_stream(db, model_double, unique_ip)
    received: list[bytes] = []

    async def consume():
        async for chunk in response.body_iterator:
            received.append(chunk)

    consumer = asyncio.create_task(consume())
    while len(received) < 2:
        await asyncio.sleep(0.01)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert interviewer_tasks() == []
    assert b"[DONE]" not in b"".join(received)
