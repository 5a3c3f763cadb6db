"""AI usage and budgets (issue 24): every model call's tokens and estimated cost in
app.ai_usage, and an organisation's monthly budget checked before each call.

The port: `MeteredAI` wraps the AI client (shared/ai/client.py, which knows
nothing of organisations) and is what the wiring hands to features
(`Services.metered_ai(user_id)`). A feature that knows who pays binds it:

    ai = billed(ai, Payer(organisation_id=role["organisation_id"], user_id=caller))

and every call through the result goes through one path:
1. reserve: for an organisation with a limit, the call's worst case (see
   `worst_case_cost`) is added to the month's `reserved` with one conditional
   update (`spent + reserved + worst <= limit`), so concurrent calls cannot
   together pass the limit; none left is PaymentRequired (402 "Usage limit ...")
   before any request is sent;
2. the call, with the feature's own `on_call` (the decision log) still called;
3. settle, whatever the outcome (also on failure or a closed stream): one row in
   app.ai_usage and, in the same short transaction, `reserved -= worst` and
   `spent += actual cost`. Settling never raises (the user's answer is not lost
   for a usage row); a failure is logged `ai.usage_failed` at ERROR.

Usage rows are written in their own transaction rather than the feature's: the
provider bills a call whether or not the feature's own transaction commits.

Payers: the organisation whose work it is (interviews, shortlists, scoring);
none for a practice interview, a candidate's own CV parse and a requirements
extraction (no organisation named): those are bounded by the per-user daily
request budget only (Bucket.AI_DAILY), and recorded against the user.

Prices: AI_PRICES over DEFAULT_PRICES (USD per million tokens); a model with no
price costs 0 and is logged once per process as `ai.price_unknown` (WARNING):
its calls are then not held back by a budget, which the warning says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from shared.platform.decision_log import Concerning, Database, ModelCall, OnCall
from shared.platform.errors import PaymentRequired
from shared.platform.logs import log_event

if TYPE_CHECKING:
    from shared.adapters.ports import AIModel

T = TypeVar("T", bound=BaseModel)

# USD per million tokens (input, output): the providers' published list prices for the
# model names this app is configured with; AI_PRICES adds or overrides.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}
MILLION = Decimal(1_000_000)
# A call makes at most two model requests (a correction of an invalid answer, or a
# re-ask after an empty reply); the second carries the first answer and the problems.
REQUESTS_PER_CALL = 2
MESSAGE_OVERHEAD_TOKENS = 8  # role and separators per message, above its text
BUDGET_SPENT = "Usage limit reached: the organisation's monthly AI budget is spent"

_RESERVE = """update app.ai_budget_months set reserved = reserved + %(worst)s
               where organisation_id = %(organisation_id)s and month = %(month)s
                 and spent + reserved + %(worst)s <= %(limit)s
           returning spent, reserved"""
_LIMIT = """select case when b.organisation_id is null then %(default)s::numeric else b.monthly_limit_usd end as lim
              from (select 1) one left join app.ai_budgets b on b.organisation_id = %(organisation_id)s"""
_INSERT_USAGE = """insert into app.ai_usage (occurred_at, organisation_id, user_id, purpose, model, outcome,
                                           input_tokens, output_tokens, estimated_cost)
                   values (%(occurred_at)s, %(organisation_id)s, %(user_id)s, %(purpose)s, %(model)s, %(outcome)s,
                           %(input_tokens)s, %(output_tokens)s, %(cost)s)"""
_SETTLE = """insert into app.ai_budget_months as m (organisation_id, month, spent) values
                 (%(organisation_id)s, %(month)s, %(cost)s)
             on conflict (organisation_id, month) do update
                set spent = m.spent + excluded.spent, reserved = greatest(m.reserved - %(release)s, 0)"""


@dataclass(frozen=True)
class Payer:
    """Who a model call is charged to: an organisation (its budget applies) and the
    caller when known (a person: erased as any user id)."""

    organisation_id: Any = None
    user_id: Any = None


class Prices:
    """Model -> (input, output) USD per million tokens."""

    def __init__(self, overrides: Mapping[str, tuple[float, float]] | None = None):
        self.table = {**DEFAULT_PRICES, **(overrides or {})}
        self._warned: set[str] = set()

    def per_token(self, model: str) -> tuple[Decimal, Decimal]:
        price = self.table.get(model)
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                log_event(
                    "ai.price_unknown",
                    level=logging.WARNING,
                    model=model,
                    note="no AI_PRICES entry: its calls cost 0 and no budget holds them back",
                )
            return Decimal(0), Decimal(0)
        return Decimal(str(price[0])) / MILLION, Decimal(str(price[1])) / MILLION

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> Decimal:
        per_in, per_out = self.per_token(model)
        return (per_in * input_tokens + per_out * output_tokens).quantize(Decimal("0.000001"))


def input_token_bound(messages: list[dict[str, Any]], schema: type[BaseModel] | None = None) -> int:
    """An upper bound on a request's input tokens: its UTF-8 bytes (a token is at least
    one byte of text) plus each message's framing, and the tool schema when sent."""
    text = json.dumps(messages, ensure_ascii=False)
    if schema is not None:
        text += json.dumps(schema.model_json_schema(), ensure_ascii=False)
    return len(text.encode()) + MESSAGE_OVERHEAD_TOKENS * (len(messages) + 1)


def worst_case_tokens(input_bound: int, output_cap: int) -> tuple[int, int]:
    """(input, output) tokens a call can be billed at most: REQUESTS_PER_CALL requests,
    each with the input, the later ones also with an earlier answer (at most the cap)
    and the problems found in it (bounded by the cap again, generously)."""
    requests = REQUESTS_PER_CALL
    return requests * (input_bound + 2 * output_cap), requests * output_cap


@dataclass(frozen=True)
class Reservation:
    month: date
    worst: Decimal  # 0 when nothing was reserved (no organisation, or no limit)


def month_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


class UsageLedger:
    """Reservations and usage rows (one per process, in Services)."""

    def __init__(self, db: Database, prices: Prices, default_limit: float | None):
        self.db = db
        self.prices = prices
        self.default_limit = None if default_limit is None else Decimal(str(default_limit))

    async def reserve(self, payer: Payer, model: str, input_tokens: int, output_tokens: int) -> Reservation:
        """Hold the call's worst case against the organisation's month; PaymentRequired
        when it does not fit. Nothing is held without an organisation or a limit."""
        month = month_of(datetime.now(UTC))
        if payer.organisation_id is None:
            return Reservation(month, Decimal(0))
        worst = self.prices.cost(model, input_tokens, output_tokens)
        params = {"organisation_id": payer.organisation_id, "month": month, "worst": worst}
        async with self.db.transaction() as conn:
            row = await (await conn.execute(_LIMIT, {**params, "default": self.default_limit})).fetchone()
            limit = _column(row, "lim")
            if limit is None:
                return Reservation(month, Decimal(0))
            await conn.execute(
                "insert into app.ai_budget_months (organisation_id, month) values (%(organisation_id)s, %(month)s)"
                " on conflict do nothing",
                params,
            )
            held = await (await conn.execute(_RESERVE, {**params, "limit": limit})).fetchone()
        if held is None:
            _count_refusal(payer)
            log_event("ai.budget_refused", level=logging.WARNING, organisationId=str(payer.organisation_id))
            raise PaymentRequired(BUDGET_SPENT)
        return Reservation(month, worst)

    async def budget(self, conn: Any, organisation_id: Any) -> tuple[date, Decimal | None, Decimal, Decimal]:
        """This UTC month's (month, limit or None, spent, reserved) for the organisation."""
        month = month_of(datetime.now(UTC))
        params = {"organisation_id": organisation_id, "month": month, "default": self.default_limit}
        limit = _column(await (await conn.execute(_LIMIT, params)).fetchone(), "lim")
        row = await (
            await conn.execute(
                "select spent, reserved from app.ai_budget_months"
                " where organisation_id = %(organisation_id)s and month = %(month)s",
                params,
            )
        ).fetchone()
        spent, reserved = (row["spent"], row["reserved"]) if row else (Decimal(0), Decimal(0))
        return month, limit, spent, reserved

    async def settle(self, payer: Payer, reservation: Reservation, call: ModelCall | None) -> None:
        """Release the reservation and record the call (none when no request was sent).
        Never raises."""
        if call is None and not reservation.worst:
            return
        input_tokens = (call.input_tokens or 0) if call else 0
        output_tokens = (call.output_tokens or 0) if call else 0
        cost = self.prices.cost(call.model, input_tokens, output_tokens) if call else Decimal(0)
        try:
            async with self.db.transaction() as conn:
                if call is not None:
                    await conn.execute(
                        _INSERT_USAGE,
                        {
                            "occurred_at": call.started_at,
                            "organisation_id": payer.organisation_id,
                            "user_id": payer.user_id,
                            "purpose": call.purpose,
                            "model": call.model,
                            "outcome": call.outcome,
                            "input_tokens": input_tokens,
                            "output_tokens": output_tokens,
                            "cost": cost,
                        },
                    )
                if payer.organisation_id is not None:
                    await conn.execute(
                        _SETTLE,
                        {
                            "organisation_id": payer.organisation_id,
                            "month": reservation.month,
                            "cost": cost,
                            "release": reservation.worst,
                        },
                    )
        except Exception as exc:
            log_event(
                "ai.usage_failed",
                level=logging.ERROR,
                error=type(exc).__name__,
                organisationId=str(payer.organisation_id) if payer.organisation_id else None,
                purpose=call.purpose if call else None,
                cost=str(cost),
                released=str(reservation.worst),
            )
            return
        if call is not None:
            _count_cost(payer, call, cost)


def _column(row: Any, name: str) -> Any:
    if row is None:
        return None
    return row[name] if isinstance(row, Mapping) else row[0]


class MeteredAI:
    """The AI client behind the budget and the usage ledger (the AIModel port)."""

    def __init__(self, inner: AIModel, ledger: UsageLedger, payer: Payer | None = None):
        self.inner = inner
        self.ledger = ledger
        self.payer = payer or Payer()
        self.timeout = inner.timeout  # the AIModel port's default per-call timeout

    def for_payer(self, payer: Payer) -> MeteredAI:
        return MeteredAI(self.inner, self.ledger, payer)

    @property
    def scoring_model_name(self) -> str:
        return self.inner.scoring_model_name

    @property
    def model_name(self) -> str:
        return str(getattr(self.inner, "model_name", ""))

    def output_cap(self, purpose: str) -> int:
        cap = getattr(self.inner, "output_cap", None)
        return int(cap(purpose)) if cap else 4_000

    async def _reserve(
        self, purpose: str, model: str | None, messages: list[dict[str, Any]], schema: type[BaseModel] | None
    ) -> Reservation:
        worst_in, worst_out = worst_case_tokens(input_token_bound(messages, schema), self.output_cap(purpose))
        return await self.ledger.reserve(self.payer, model or self.model_name, worst_in, worst_out)

    async def _settle(self, reservation: Reservation, calls: list[ModelCall]) -> None:
        # Shielded: a cancelled call (a client gone, a refused turn's other call) still
        # releases what it held, and waits for that before the cancellation goes on.
        settling = asyncio.ensure_future(self.ledger.settle(self.payer, reservation, calls[0] if calls else None))
        try:
            await asyncio.shield(settling)
        except asyncio.CancelledError:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(settling)
            raise

    async def structured(
        self, *, purpose: str, messages: list[dict[str, Any]], schema: type[T], on_call: OnCall | None = None,
        model: str | None = None, **kwargs: Any,
    ) -> T:  # fmt: skip
        reservation = await self._reserve(purpose, model, messages, schema)
        calls: list[ModelCall] = []
        try:
            return await self.inner.structured(
                purpose=purpose, messages=messages, schema=schema, model=model,
                on_call=_Tee(calls, on_call, self.payer.organisation_id), **kwargs,
            )  # fmt: skip
        finally:
            await self._settle(reservation, calls)

    async def complete_text(
        self, *, purpose: str, messages: list[dict[str, Any]], on_call: OnCall | None = None,
        model: str | None = None, **kwargs: Any,
    ) -> str:  # fmt: skip
        reservation = await self._reserve(purpose, model, messages, None)
        calls: list[ModelCall] = []
        try:
            return await self.inner.complete_text(
                purpose=purpose,
                messages=messages,
                model=model,
                on_call=_Tee(calls, on_call, self.payer.organisation_id),
                **kwargs,
            )
        finally:
            await self._settle(reservation, calls)

    async def stream_text(
        self, *, purpose: str, messages: list[dict[str, Any]], on_call: OnCall | None = None,
        model: str | None = None, **kwargs: Any,
    ) -> AsyncGenerator[str, None]:  # fmt: skip
        """Reserved when iteration starts (before the first request), settled when the
        stream ends, fails or is closed."""
        reservation = await self._reserve(purpose, model, messages, None)
        calls: list[ModelCall] = []
        deltas = self.inner.stream_text(
            purpose=purpose,
            messages=messages,
            model=model,
            on_call=_Tee(calls, on_call, self.payer.organisation_id),
            **kwargs,
        )
        try:
            async with contextlib.aclosing(deltas):
                async for delta in deltas:
                    yield delta
        finally:
            await self._settle(reservation, calls)


class _Tee:
    """Hears each call for the ledger and passes it on to the feature's own `on_call`.
    `about` stays visible through it: the AI client tags token metrics with its
    organisation (the payer's when the feature records no decisions)."""

    def __init__(self, calls: list[ModelCall], on_call: OnCall | None, organisation_id: Any = None):
        self.calls, self.on_call = calls, on_call
        inner = getattr(on_call, "about", None)
        self.about = inner if inner is not None else Concerning((), organisation_id)

    def __call__(self, call: ModelCall) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)


def billed(ai: AIModel, payer: Payer) -> AIModel:
    """`ai` charged to `payer` (an AI client without the ledger, a test's fake, as it is)."""
    if isinstance(ai, MeteredAI):
        return ai.for_payer(replace(payer, user_id=payer.user_id or ai.payer.user_id))
    return ai


# --- metrics (OpenTelemetry API: no-ops until a meter provider is configured) ---------------


@cache
def _instruments() -> tuple[Any, Any] | None:
    try:
        from opentelemetry import metrics
    except ImportError:  # telemetry not installed: nothing to count into
        return None
    meter = metrics.get_meter("talenti.ai")
    cost = meter.create_counter("talenti.ai.cost", unit="USD", description="Estimated cost of model calls")
    refused = meter.create_counter(
        "talenti.ai.budget.refused", unit="{call}", description="Model calls refused by an organisation's budget"
    )
    return cost, refused


def _count_cost(payer: Payer, call: ModelCall, cost: Decimal) -> None:
    instruments = _instruments()
    if instruments is not None:
        instruments[0].add(
            float(cost),
            {"purpose": call.purpose, "model": call.model, "organisation": str(payer.organisation_id or "none")},
        )


def _count_refusal(payer: Payer) -> None:
    instruments = _instruments()
    if instruments is not None:
        instruments[1].add(1, {"organisation": str(payer.organisation_id)})
