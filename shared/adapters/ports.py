"""What services need from the outside world, as small Protocols.

A service names the few ports it uses in its signature; the composition root
(shared/platform/wiring.py) passes the real adapters, tests pass real ones pointed at
local doubles. Nothing here imports an SDK.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:  # the adapters' value types only; no SDK is imported
    from shared.adapters.acs_identity import AcsToken
    from shared.adapters.email import EmailMessage
    from shared.adapters.speech_tokens import SpeechToken
    from shared.platform.decision_log import ModelCall

T = TypeVar("T", bound=BaseModel)
Params = Sequence[Any] | dict[str, Any] | None


class Database(Protocol):
    def connection(self) -> AbstractAsyncContextManager[Any]: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def fetch_one(self, sql: str, params: Params = None) -> dict[str, Any] | None: ...

    async def fetch_all(self, sql: str, params: Params = None) -> list[dict[str, Any]]: ...

    async def execute(self, sql: str, params: Params = None) -> int: ...


class AIModel(Protocol):
    """shared/ai/client.AIClient. `on_call` receives each call's facts for the AI
    decision log (shared/platform/decision_log.py)."""

    timeout: float  # the default per-call timeout, seconds

    @property
    def scoring_model_name(self) -> str: ...

    async def structured(
        self,
        *,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        schema: type[T],
        tool_name: str,
        tool_description: str,
        model: str | None = None,
        timeout: float | None = None,
        check: Callable[[T], None] | None = None,
        vocabularies: dict[str, Any] | None = None,
        on_call: Callable[[ModelCall], None] | None = None,
    ) -> T: ...

    async def complete_text(
        self,
        *,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str | None = None,
        timeout: float | None = None,
        on_call: Callable[[ModelCall], None] | None = None,
    ) -> str: ...

    def stream_text(
        self,
        *,
        purpose: str,
        prompt_version: str,
        messages: list[dict[str, Any]],
        model: str | None = None,
        timeout: float | None = None,
        on_call: Callable[[ModelCall], None] | None = None,
    ) -> AsyncGenerator[str, None]: ...


class DurableClient(Protocol):
    """The parts of azure.durable_functions.DurableOrchestrationClient scoring uses."""

    async def get_status(self, instance_id: str) -> Any: ...

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str: ...

    async def terminate(self, instance_id: str, reason: str) -> None: ...

    async def purge_instance_history(self, instance_id: str) -> Any: ...


class AcsIdentities(Protocol):
    """shared/adapters/acs_identity.AcsIdentity."""

    async def create_user_with_token(self, scopes: list[str]) -> tuple[str, AcsToken]: ...

    async def issue_token(self, communication_user_id: str, scopes: list[str]) -> AcsToken: ...

    async def delete_user(self, communication_user_id: str) -> bool: ...


class SpeechTokenSource(Protocol):
    """shared/adapters/speech_tokens.SpeechTokens."""

    region: str

    async def get(self) -> SpeechToken: ...


class EmailSender(Protocol):
    """shared/adapters/email: Resend, or the development outbox."""

    async def send(self, message: EmailMessage, idempotency_key: str | None = None) -> str: ...


class CvStore(Protocol):
    """shared/adapters/cv_storage: Supabase Storage or a Blob container."""

    async def read(self, path: str, max_bytes: int) -> bytes: ...

    async def delete(self, path: str) -> bool: ...

    async def delete_folder(self, folder: str) -> list[str]:
        """Delete every object whose name starts with `folder` (ending in "/"); the names deleted."""
        ...


class BlobDeleter(Protocol):
    """One open session of the recordings store: deletes blobs by name."""

    async def delete(self, names: Iterable[str]) -> set[str]:
        """The names that are gone afterwards (already gone counts as deleted)."""
        ...


class RecordingBlobs(Protocol):
    """The Blob container ACS writes recordings to (retention deletes from it)."""

    def blob_name(self, url: object) -> str | None:
        """The blob's name when `url` points inside the container; None for anything else."""
        ...

    def open(self) -> AbstractAsyncContextManager[BlobDeleter]: ...


class AuthAdmin(Protocol):
    """Supabase Auth's admin API: deleting a user for a full deletion request."""

    async def delete_user(self, user_id: Any) -> bool: ...
