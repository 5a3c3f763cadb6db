"""Where an interview's recording is recorded: the one definition, in Python
and in SQL.

`interviews.recording_url` names the first chunk's content, and
`interviews.metadata -> 'recordings'` is a JSON array with one entry per ACS
recording chunk (from RecordingFileStatusUpdated), keyed by `documentId`.
Each entry keeps the chunk's three locations: `contentLocation` and
`metadataLocation` are blobs in the recordings container, `deleteLocation`
is an ACS API URL. Retention deletes the blobs and then removes the
locations; everything else in the entry stays.

The ACS events handler writes entries with `new_entry`; retention reads them
with `recording_urls` and clears them with `without_locations`; queries ask
the same questions with `HAS_RECORDING_SQL` and `MAY_HAVE_RECORDING_SQL`;
anonymising a candidate reduces each entry to `ANONYMOUS_ENTRY_KEYS`
(`anonymised_entries_sql`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

KEY = "recordings"
# How an erased interview's call ids are remembered (app.erased_calls): a SHA-256, never the id.
CALL_ID_HASH_SQL = "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
CALL_ID_KEYS = ("serverCallId", "correlationId")  # the interview's link to its call (metadata)
DOCUMENT_ID = "documentId"
CONTENT_LOCATION = "contentLocation"
METADATA_LOCATION = "metadataLocation"
DELETE_LOCATION = "deleteLocation"
BLOB_KEYS = (CONTENT_LOCATION, METADATA_LOCATION)  # blobs in our container
LOCATION_KEYS = (*BLOB_KEYS, DELETE_LOCATION)  # removed once the recording is gone

# What an entry keeps when its candidate is anonymised: its place, times and format, and
# the locations still on it (by then only ones outside our storage, which retention keeps
# reporting until someone resolves them). Anything else goes, a key added to new_entry
# included: serverCallId and documentId name the call and the recording in ACS's own
# records, and so lead back to the people on the call.
ANONYMOUS_ENTRY_KEYS = (
    "index",
    "endReason",
    "recordingStartTime",
    "recordingDurationMs",
    "contentType",
    "formatType",
    *LOCATION_KEYS,
)


def new_entry(
    *,
    document_id: str,
    index: int | None,
    end_reason: str | None,
    content_location: str | None,
    metadata_location: str | None,
    delete_location: str | None,
    server_call_id: str | None,
    start_time: str | None,
    duration_ms: int | None,
    content_type: str | None,
    format_type: str | None,
) -> dict[str, Any]:
    """One chunk's entry, as the ACS events handler stores it."""
    return {
        DOCUMENT_ID: document_id,
        "index": index,
        "endReason": end_reason,
        CONTENT_LOCATION: content_location,
        METADATA_LOCATION: metadata_location,
        DELETE_LOCATION: delete_location,
        "serverCallId": server_call_id,
        "recordingStartTime": start_time,
        "recordingDurationMs": duration_ms,
        "contentType": content_type,
        "formatType": format_type,
    }


def entries(metadata: Any) -> list[dict[str, Any]]:
    """The entries of a metadata value (anything malformed is ignored)."""
    value = metadata.get(KEY) if isinstance(metadata, dict) else None
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def document_ids(metadata: Any) -> set[Any]:
    return {entry.get(DOCUMENT_ID) for entry in entries(metadata)}


def with_entries(metadata: dict[str, Any], new: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`metadata` (changed in place) with its well-formed entries followed by `new`."""
    metadata[KEY] = [*entries(metadata), *new]
    return metadata


def recording_urls(recording_url: Any, metadata: Any) -> list[str]:
    """Every URL at which the interview's recording may be stored, once each."""
    urls = [recording_url] + [entry.get(key) for entry in entries(metadata) for key in BLOB_KEYS]
    return list(dict.fromkeys(url for url in urls if isinstance(url, str) and url))


def without_locations(metadata: Any, keep: Iterable[str] = ()) -> Any:
    """The metadata with the chunks' locations removed, except blob locations
    whose URL is in `keep` (and the deleteLocation of a chunk that keeps one)."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get(KEY), list):
        return metadata
    kept = set(keep)

    def cleared(entry: Any) -> Any:
        if not isinstance(entry, dict):
            return entry
        keeps = {key for key in BLOB_KEYS if entry.get(key) in kept}
        if keeps:
            keeps.add(DELETE_LOCATION)
        return {k: v for k, v in entry.items() if k not in LOCATION_KEYS or k in keeps}

    return {**metadata, KEY: [cleared(entry) for entry in metadata[KEY]]}


# The same questions in SQL, about `interviews` under the alias `i`.

# Some entry still has a location, or recording_url is set: the interview still has a recording.
HAS_RECORDING_SQL = f"""(i.recording_url is not null or exists (
    select 1 from jsonb_array_elements(case when jsonb_typeof(i.metadata -> '{KEY}') = 'array'
                                            then i.metadata -> '{KEY}' else '[]'::jsonb end) as entry
     where jsonb_typeof(entry) = 'object'
       and entry ?| array[{", ".join(f"'{key}'" for key in LOCATION_KEYS)}]))"""

# A cheap, indexable superset of HAS_RECORDING_SQL: the predicate of the partial
# index interviews_recording_pending_idx (infra/db/migrations), which a query
# can use only when it repeats this text.
MAY_HAVE_RECORDING_SQL = f"(i.recording_url is not null or i.metadata ? '{KEY}')"


def anonymised_entries_sql(value: str) -> str:
    """SQL for the JSON array `value` (an expression) with each entry reduced to
    ANONYMOUS_ENTRY_KEYS; anything in it that is not an entry is dropped."""
    kept = ", ".join(f"'{key}'" for key in ANONYMOUS_ENTRY_KEYS)
    return f"""(select coalesce(jsonb_agg(
                  (select coalesce(jsonb_object_agg(k.key, k.value), '{{}}'::jsonb)
                     from jsonb_each(entry) k where k.key = any(array[{kept}]))
                  order by position), '[]'::jsonb)
          from jsonb_array_elements(case when jsonb_typeof({value}) = 'array' then {value} else '[]'::jsonb end)
               with ordinality as entries(entry, position)
         where jsonb_typeof(entry) = 'object')"""
