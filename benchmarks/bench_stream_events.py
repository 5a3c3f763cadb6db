"""The interviewer stream's events, socket writes and host CPU per streamed turn,
one SSE event per model delta (the interviewer service as it was at BASELINE)
against coalesced deltas (as it is at HEAD), side by side in one run.

Two local hosts run at once from two exports of HEAD that differ only in
`shared/interviewer/service.py` (the other one's is BASELINE's). Each profile
streams the same turns to both hosts concurrently (the same machine noise),
against a model double that sends a 53-delta reply either one delta per write
every 10 ms (about 100 tokens/s, a fast hosted model) or all at once (a backlog:
a host too busy to read as the model writes, or a fast local model). The client
speaks HTTP/1.1 through h11, so it counts the chunks the host wrote: uvicorn
writes each one with its own `transport.write`, plus one for the headers and
one for the end. Host CPU is the host process's user + system time over a round,
divided by its turns; the ratio is the median over the rounds.

    .venv/bin/python -m benchmarks.bench_stream_events [BASELINE]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchmarks.common import bench_database, cpu_seconds, exported_tree, host_process, model_double_env, signed_in

# The last commit whose interviewer stream wrote one event per delta.
BASELINE = "fe5ed2357c259540aa25df294e5492f01b749412"
SERVICE = "shared/interviewer/service.py"
BODY = {
    "messages": [
        {"role": "assistant", "content": "Tell me about a project you are proud of."},
        {"role": "user", "content": "I led our move to React and TypeScript, mentoring two juniors."},
    ],
    "jobTitle": "Senior Frontend Engineer",
    "currentQuestionIndex": 2,
    "totalQuestions": 6,
}
REPLY = (
    "Thank you, that sounds like a substantial piece of work. Moving a live dashboard to React and "
    "TypeScript while mentoring two juniors means balancing delivery against teaching. When you planned "
    "the migration, how did you decide which parts to rewrite first, and what did you do to keep the "
    "juniors productive and confident while the codebase was changing under them?"
)
DELTAS = 60
PROFILES = {  # name: (SSE events per write, seconds between writes)
    "one delta per 10 ms": (1, 0.010),
    "all deltas at once": (DELTAS + 3, 0.0),
}
WORKERS = 4  # concurrent streams per host
TURNS = 32  # per host and round
ROUNDS = 5
WARMUP = 4


def streaming_model():
    from shared.interviewer import competency_prompts as competencies
    from tests.doubles.openai_server import OpenAIDouble, ScriptedReply, tool_call_reply

    pacing = {"burst": 1, "chunk_interval": 0.0}

    def respond(body):
        if body.get("tools"):
            return tool_call_reply(competencies.TOOL_NAME, {"detectedCompetencies": ["technical_skills"]})
        return ScriptedReply(content=REPLY, chunks=DELTAS, **pacing)

    return OpenAIDouble(api_key="sk-bench", default_responder=respond), pacing


@dataclass
class Turns:
    events: int = 0
    chunks: int = 0
    turns: int = 0
    errors: int = 0


class Connection:
    """One keep-alive HTTP/1.1 connection that counts the response's chunks."""

    def __init__(self, base: str, headers: dict[str, str]):
        self.address = urlsplit(base)
        self.headers = headers

    async def __aenter__(self) -> Connection:
        import h11

        self.reader, self.writer = await asyncio.open_connection(self.address.hostname, self.address.port)
        self.conn = h11.Connection(h11.CLIENT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def streamed_turn(self) -> tuple[bool, int, int]:
        """(complete, content events, chunks) for one streamed turn."""
        import h11

        body = json.dumps(BODY).encode()
        headers = [
            ("host", self.address.netloc),
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            *self.headers.items(),
        ]
        request = h11.Request(method="POST", target="/api/ai/interviewer/stream", headers=headers)
        self.writer.write(self.conn.send(request) + self.conn.send(h11.Data(data=body)))
        self.writer.write(self.conn.send(h11.EndOfMessage()))
        status, chunks, text = 0, 0, bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks += event.chunk_start
                text += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        self.conn.start_next_cycle()
        events = [b[len("data: ") :] for b in text.decode().split("\n\n") if b.startswith("data: ")]
        complete = status == 200 and events[-1] == "[DONE]" and json.loads(events[-2]).get("done") is True
        contents = [json.loads(e)["content"] for e in events[:-1] if e.startswith('{"content"')]
        return complete and "".join(contents) == REPLY, len(contents), chunks


async def drive(base: str, headers: dict[str, str], turns: int, into: Turns) -> None:
    async with Connection(base, headers) as connection:
        for _ in range(turns):
            ok, events, chunks = await connection.streamed_turn()
            if not ok:
                into.errors += 1
                continue
            into.turns += 1
            into.events += events
            into.chunks += chunks


async def profile(hosts: dict[str, tuple[str, int]], headers: dict[str, str]) -> dict[str, dict]:
    """ROUNDS rounds of TURNS turns per host, both hosts at once; the CPU ratio is
    the median of the rounds' ratios (other processes share the two cores)."""
    for base, _ in hosts.values():  # warm both hosts (imports, pools) outside the count
        await asyncio.gather(*(drive(base, headers, 1, Turns()) for _ in range(WARMUP)))
    totals = {name: Turns() for name in hosts}
    cpu = {name: 0.0 for name in hosts}
    ratios = []
    for _ in range(ROUNDS):
        before = {name: cpu_seconds([pid]) for name, (_, pid) in hosts.items()}
        counts = {name: Turns() for name in hosts}
        await asyncio.gather(
            *(
                drive(base, headers, TURNS // WORKERS, counts[name])
                for _ in range(WORKERS)
                for name, (base, _) in hosts.items()
            )
        )
        used = {name: cpu_seconds([pid]) - before[name] for name, (_, pid) in hosts.items()}
        per_turn = {name: used[name] / max(1, counts[name].turns) for name in hosts}
        ratios.append(per_turn["coalesced"] / per_turn["per delta"])
        for name, count in counts.items():
            cpu[name] += used[name]
            for key in ("events", "chunks", "turns", "errors"):
                setattr(totals[name], key, getattr(totals[name], key) + getattr(count, key))
    figures: dict[str, dict] = {}
    for name, t in totals.items():
        figures[name] = {
            "events_per_turn": t.events / t.turns,
            "writes_per_turn": t.chunks / t.turns + 2,  # + the headers and the end
            "host_cpu_ms_per_turn": cpu[name] * 1000 / t.turns,
            "turns": t.turns,
            "errors": t.errors,
        }
    figures["cpu_ratios"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
    return figures


def main(baseline: str = BASELINE) -> dict:
    model, pacing = streaming_model()
    results: dict[str, dict] = {}
    with ExitStack() as stack:
        stack.enter_context(model)
        url = stack.enter_context(bench_database())
        env = model_double_env(url, model.url, {"ai/interviewer": "1000000/60"}) | {
            "PYTHONSAFEPATH": "1",  # import the exported tree (PYTHONPATH), not the current directory
        }
        hosts = {}
        for name, ref in (("per delta", baseline), ("coalesced", None)):
            tree = stack.enter_context(exported_tree(ref, [SERVICE]))
            hosts[name] = stack.enter_context(host_process({**env, "PYTHONPATH": str(tree)}))
        headers = asyncio.run(signed_in(url))
        for label, (burst, interval) in PROFILES.items():
            pacing.update(burst=burst, chunk_interval=interval)
            figures = asyncio.run(profile(hosts, headers))
            old, new = figures["per delta"], figures["coalesced"]
            deltas = round(old["events_per_turn"])  # the baseline writes one event per delta
            print(f"\nmodel sends {deltas} deltas, {label}; {ROUNDS} x {TURNS} turns per host, {WORKERS} at once")
            for key in ("events_per_turn", "writes_per_turn", "host_cpu_ms_per_turn"):
                ratio = new[key] / old[key]
                print(f"  {key:<21} per delta {old[key]:7.2f}   coalesced {new[key]:7.2f}   ratio {ratio:.2f}")
            spread = figures["cpu_ratios"]
            print(
                f"  host CPU ratio, median of rounds {spread['median']:.2f} (rounds {spread['min']:.2f}-{spread['max']:.2f});"
                f" errors {old['errors']} / {new['errors']}"
            )
            results[label] = figures
    return results


if __name__ == "__main__":
    main(*sys.argv[1:])
