"""Locust users for the load test (run through `make load`, i.e. loadtests/run.py,
which starts the local host and the doubles, seeds the data and passes it here
in the JSON file named by LOADTEST_FIXTURE).

MixUser: the frontend's calls at a person's pace, each simulated person on a
client address of its own (127.0.1.x) so that the per-address limit behaves
as it would for 50 people on 50 networks.

BurstUser: the rate-limit check. Every user fires its requests at the same
instant at the start of a fresh limit window: its own organisation creations
(its own user bucket) and speech-token requests with one token they all share
(one user bucket for all).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser
from requests.adapters import HTTPAdapter

FIXTURE = json.loads(Path(os.environ["LOADTEST_FIXTURE"]).read_text()) if os.environ.get("LOADTEST_FIXTURE") else {}
STATUSES: dict[str, Counter] = defaultdict(Counter)  # endpoint -> status -> count
BUCKETS: dict[str, Counter] = defaultdict(Counter)  # burst: bucket -> status -> count
_mix_index = itertools.count()
_burst_index = itertools.count()
_burst_done = itertools.count(1)
_burst_start: list[float] = []


class SourceAddress(HTTPAdapter):
    """Connections from one loopback address (127.0.0.0/8 all reaches the host)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=2)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def bind(user: HttpUser, address: str) -> None:
    user.client.mount("http://", SourceAddress(address))


def expect(response, name: str, *ok: int) -> None:
    """Count the status; anything but `ok` is a failure in locust's statistics."""
    STATUSES[name][response.status_code] += 1
    if response.status_code in ok:
        response.success()
    else:
        response.failure(f"{response.status_code}: {response.text[:200]}")


def turn_body(person: dict, stream_note: str = "") -> dict:
    return {
        "interviewId": person["interview"],
        "jobTitle": "Senior Frontend Engineer",
        "companyName": "Acme",
        "currentQuestionIndex": 2,
        "totalQuestions": 6,
        "competenciesToCover": ["communication", "technical_skills"],
        "messages": [
            {"role": "assistant", "content": "Tell me about a project you are proud of."},
            {
                "role": "user",
                "content": "I led our move to React and TypeScript"
                + stream_note
                + ", mentoring two juniors along the way.",
            },
        ],
    }


class MixUser(HttpUser):
    """One person using the frontend: a candidate in an interview, and a recruiter."""

    wait_time = between(2, 4)

    def on_start(self) -> None:
        mix = FIXTURE["mix"]
        self.person = mix[next(_mix_index) % len(mix)]
        bind(self, self.person["ip"])
        self.headers = {"authorization": f"Bearer {self.person['token']}"}

    def post(self, path: str, body: dict, *ok: int, name: str | None = None):
        with self.client.post(
            path, json=body, headers=self.headers, name=name or path, catch_response=True
        ) as response:
            expect(response, name or path, *ok)
        return response

    @task(4)
    def interviewer_turn(self) -> None:
        self.post("/api/ai/interviewer", turn_body(self.person), 200)

    @task(3)
    def interviewer_stream(self) -> None:
        name = "/api/ai/interviewer/stream"
        started = time.perf_counter()
        with self.client.post(
            name,
            json=turn_body(self.person, " (streamed)"),
            headers=self.headers,
            name=name,
            stream=True,
            catch_response=True,
        ) as response:
            events_seen = [line for line in response.iter_lines() if line.startswith(b"data: ")]
            complete = (
                response.status_code == 200
                and events_seen[-1:] == [b"data: [DONE]"]
                and b'"done": true' in (events_seen[-2] if len(events_seen) > 1 else b"")
            )
            expect(response, name, 200)
            if response.status_code == 200 and not complete:
                response.failure(f"stream ended without its final events: {events_seen[-2:]}")
        # Locust times a streamed request to its headers; the whole stream is reported apart.
        events.request.fire(
            request_type="POST",
            name=name + " (whole stream)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None if complete else RuntimeError("incomplete stream"),
            context={},
        )

    @task(2)
    def acs_token(self) -> None:
        self.post("/api/acs/token", {"scopes": ["voip"]}, 200)

    @task(2)
    def speech_token(self) -> None:
        with self.client.get("/api/azure/speech-token", headers=self.headers, catch_response=True) as response:
            expect(response, "/api/azure/speech-token", 200)

    @task(1)
    def parse_resume(self) -> None:
        self.post("/api/ai/parse-resume", {"filePath": self.person["cv_path"], "userId": self.person["user"]}, 200)

    @task(1)
    def shortlist(self) -> None:
        # A recruiter asks for a shortlist now and then, not five times a minute (its limit).
        if time.monotonic() - getattr(self, "last_shortlist", -60.0) < 15:
            return
        self.last_shortlist = time.monotonic()
        self.post("/api/ai/generate-shortlist", {"roleId": self.person["role"]}, 200)

    @task(1)
    def score(self) -> None:
        self.post("/api/ai/score", {"interviewId": self.person["score_interview"]}, 200, 202)

    @task(1)
    def invitation(self) -> None:
        application = random.choice(self.person["applications"])
        self.post(
            "/api/invitations/send", {"applicationId": application["id"], "candidateEmail": application["email"]}, 200
        )

    @task(1)
    def organisation(self) -> None:
        self.post(
            "/api/organisations",
            {"name": f"Load {uuid.uuid4().hex[:8]}", "industry": "Software", "website": "https://load.example"},
            200,
        )


class BurstUser(HttpUser):
    """Fires its whole allowance plus a few more, all users at the same instant."""

    wait_time = between(0, 0)

    def on_start(self) -> None:
        burst = FIXTURE["burst"]
        index = next(_burst_index)
        self.person = burst["users"][index % len(burst["users"])]
        bind(self, self.person["ip"])
        if not _burst_start:  # the first user picks the instant: a window with room for the whole burst
            window = burst["window_seconds"]
            now = time.time()
            left = window - now % window
            _burst_start.append(now + 2 if left > burst["needs_seconds"] + 2 else now + left + 0.5)
        gevent.sleep(max(0.0, _burst_start[0] - time.time()))

    def fire(self, method: str, path: str, token: str, bucket: str, name: str, body: dict | None = None) -> None:
        with self.client.request(
            method, path, json=body, headers={"authorization": f"Bearer {token}"}, name=name, catch_response=True
        ) as response:
            expect(response, name, 200, 429)
            BUCKETS[bucket][response.status_code] += 1

    @task
    def burst(self) -> None:
        burst = FIXTURE["burst"]
        # First the shared bucket, every user at once: the counter's atomicity under contention.
        for _ in range(burst["shared_requests"]):
            self.fire(
                "GET",
                "/api/azure/speech-token",
                burst["shared_token"],
                "shared",
                "/api/azure/speech-token (burst, one shared user)",
            )
        for i in range(burst["own_requests"]):
            self.fire(
                "POST",
                "/api/organisations",
                self.person["token"],
                f"user {self.person['user']}",
                "/api/organisations (burst)",
                {"name": f"Burst {i}"},
            )
        if next(_burst_done) == len(burst["users"]):
            self.environment.runner.quit()
        raise StopUser()


@events.quitting.add_listener
def write_counts(environment, **_kwargs) -> None:
    path = os.environ.get("LOADTEST_COUNTS")
    if path:
        with open(path, "w") as out:
            json.dump(
                {
                    "statuses": {k: dict(v) for k, v in STATUSES.items()},
                    "buckets": {k: dict(v) for k, v in BUCKETS.items()},
                    "burst_started_at": _burst_start[0] if _burst_start else None,
                },
                out,
            )
