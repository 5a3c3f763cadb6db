"""The recording metadata shape (shared/calls/recording_metadata.py) and the
retention page queries built on it: the Python rules, the index the SQL must
match, and the plans that keep a run linear."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

from shared.calls import recording_metadata as shape
from shared.platform.migrate import MIGRATIONS_DIR
from shared.retention import queries

OURS = "https://acct.blob.core.windows.net/recordings/a/content.mp4"
OURS_META = "https://acct.blob.core.windows.net/recordings/a/metadata.json"
THEIRS = "https://elsewhere.example/b.mp4"


def entry(**locations):
    return {"documentId": uuid.uuid4().hex, "index": 0, **locations}


def test_recording_urls_are_the_url_and_every_blob_location_once():
    metadata = {
        "recordings": [
            entry(contentLocation=OURS, metadataLocation=OURS_META, deleteLocation="https://acs/x"),
            entry(contentLocation=THEIRS),
            "not an entry",
            entry(contentLocation=7),
        ],
        "serverCallId": "c",
    }
    assert shape.recording_urls(OURS, metadata) == [OURS, OURS_META, THEIRS]  # deleteLocation is not a blob
    assert shape.recording_urls(None, {"recordings": {"contentLocation": OURS}}) == []  # not an array: nothing
    assert shape.recording_urls(None, None) == []


def test_without_locations_keeps_only_the_urls_asked_for():
    ours, theirs = (
        entry(contentLocation=OURS, metadataLocation=OURS_META, deleteLocation="https://acs/1"),
        entry(contentLocation=THEIRS, deleteLocation="https://acs/2"),
    )
    metadata = {"recordings": [ours, theirs], "serverCallId": "c"}

    cleared = shape.without_locations(metadata)
    assert cleared["recordings"] == [
        {"documentId": ours["documentId"], "index": 0},
        {"documentId": theirs["documentId"], "index": 0},
    ]
    assert cleared["serverCallId"] == "c" and metadata["recordings"][0]["contentLocation"] == OURS  # a copy

    kept = shape.without_locations(metadata, keep=[THEIRS])
    assert kept["recordings"][0] == {"documentId": ours["documentId"], "index": 0}
    assert kept["recordings"][1] == theirs  # its deleteLocation stays with the blob it names
    assert shape.without_locations(None) is None and shape.without_locations({"a": 1}) == {"a": 1}


def test_entries_are_written_and_found_by_document_id():
    metadata = {"recordings": [entry(contentLocation=OURS), "junk"]}
    new = shape.new_entry(
        document_id="d-2",
        index=1,
        end_reason=None,
        content_location=THEIRS,
        metadata_location=None,
        delete_location=None,
        server_call_id="c",
        start_time=None,
        duration_ms=None,
        content_type=None,
        format_type=None,
    )
    shape.with_entries(metadata, [new])
    assert [e["documentId"] for e in metadata["recordings"]][1:] == ["d-2"]
    assert "d-2" in shape.document_ids(metadata) and len(metadata["recordings"]) == 2
    assert set(shape.LOCATION_KEYS) <= set(new)  # the keys retention reads are the keys written


def test_anonymising_an_entry_keeps_no_identifier_of_the_call_or_the_recording():
    written = shape.new_entry(
        document_id="d",
        index=0,
        end_reason=None,
        content_location=None,
        metadata_location=None,
        delete_location=None,
        server_call_id="c",
        start_time=None,
        duration_ms=None,
        content_type=None,
        format_type=None,
    )
    # A key added to new_entry is dropped until it is placed in ANONYMOUS_ENTRY_KEYS on purpose.
    assert set(written) - set(shape.ANONYMOUS_ENTRY_KEYS) == {"documentId", "serverCallId"}
    assert set(shape.ANONYMOUS_ENTRY_KEYS) <= set(written)


async def test_anonymised_entries_sql_reduces_each_entry(db):
    theirs = entry(contentLocation=THEIRS, deleteLocation="https://acs/2", serverCallId="c", secret="x")
    cases = [
        ([theirs, "junk", 7], [{"index": 0, "contentLocation": THEIRS, "deleteLocation": "https://acs/2"}]),
        ([{"documentId": "d", "serverCallId": "c"}], [{}]),
        ([], []),
        ({"contentLocation": OURS}, []),  # not an array: nothing is kept
    ]
    for value, expected in cases:
        row = await db.fetch_one(
            f"select {shape.anonymised_entries_sql('v.value')} as kept from (select %s::jsonb as value) v",
            (json.dumps(value),),
        )
        assert row["kept"] == expected, value


def test_the_index_predicate_is_the_sql_the_page_query_repeats():
    migration = (MIGRATIONS_DIR / "006_retention_pending_recordings.sql").read_text()
    predicate = re.search(r"where recording_deleted_at is null and (\(.*\));", migration).group(1)
    assert predicate == shape.MAY_HAVE_RECORDING_SQL.replace("i.", "")


async def test_has_recording_sql_agrees_with_python(db):
    cases = [
        (None, None),
        (OURS, None),
        (None, {"recordings": []}),
        (None, {"recordings": [entry()]}),
        (None, {"recordings": [entry(deleteLocation="https://acs/x")]}),
        (None, {"recordings": [entry(contentLocation=THEIRS)]}),
        (None, {"recordings": {"contentLocation": OURS}}),
        (None, {"recordings": ["x", 1]}),
    ]
    for url, metadata in cases:
        row = await db.fetch_one(
            f"select {shape.HAS_RECORDING_SQL} as has from (select %s::text as recording_url, %s::jsonb as metadata) i",
            (url, None if metadata is None else json.dumps(metadata)),
        )
        python = bool(url) or any(set(shape.LOCATION_KEYS) & set(e) for e in shape.entries(metadata))
        assert row["has"] is python, (url, metadata)


async def scans(conn, sql: str, params) -> list[dict]:
    """Every node of the plan of `sql` that reads a table or an index."""
    cur = await conn.execute("explain (format json) " + sql, params)
    found, stack = [], [(await cur.fetchone())["QUERY PLAN"][0]["Plan"]]
    while stack:
        node = stack.pop()
        stack += node.get("Plans", [])
        if "Relation Name" in node or "Index Name" in node:
            found.append({k: node.get(k) for k in ("Node Type", "Relation Name", "Index Name", "Index Cond")})
    return found


async def test_each_page_reads_the_index_and_starts_from_the_ids_never_the_organisation(db):
    """The plans the planner picks with production-like statistics (an
    organisation with many roles, applications and interviews, analysed), in
    a transaction rolled back so no other test sees the rows or statistics."""
    async with db.connection() as conn, conn.transaction(force_rollback=True):
        cur = await conn.execute("insert into organisations (name) values ('Plan Co') returning id")
        organisation = (await cur.fetchone())["id"]
        await conn.execute(
            """with roles as (
                 insert into job_roles (organisation_id, title)
                 select %(org)s, 'Role ' || n from generate_series(1, 40) n returning id),
               users as (
                 insert into auth.users (id, email)
                 select gen_random_uuid(), 'plan-' || n || '@plan.test' from generate_series(1, 4000) n returning id),
               apps as (
                 insert into applications (job_role_id, candidate_id, status)
                 select (select id from roles order by random() limit 1), u.id, 'interviewed' from users u
                 returning id)
               insert into interviews (application_id, status, started_at, ended_at, recording_url)
               select id, 'completed', '2020-01-01 10:00+00', '2020-01-01 10:30+00', 'https://x/' || id from apps""",
            {"org": organisation},
        )
        await conn.execute("analyze organisations, job_roles, applications, interviews")

        candidates = await scans(conn, queries._CANDIDATES, {"after": queries.FIRST_ID, "limit": 100})
        due = await scans(
            conn,
            queries._DUE_AMONG + " for update of i skip locked",
            {"ids": [uuid.uuid4() for _ in range(100)], "now": datetime.now(UTC), "organisation": organisation},
        )
    assert [scan["Index Name"] for scan in candidates] == ["interviews_recording_pending_idx"]
    # The page's interviews by their ids; each one's application by its key.
    # Never the path that made runs quadratic: the organisation's roles, then
    # all of its applications. (Roles and organisations are small lookups.)
    interviews = [
        scan for scan in due if scan["Relation Name"] == "interviews" or scan["Index Name"] == "interviews_pkey"
    ]
    assert any(scan["Index Name"] == "interviews_pkey" and "ANY" in scan["Index Cond"] for scan in interviews)
    assert all(scan["Node Type"] != "Seq Scan" for scan in interviews), interviews
    applications = [scan for scan in due if scan["Relation Name"] == "applications"]
    assert applications == [
        {
            "Node Type": "Index Scan",
            "Relation Name": "applications",
            "Index Name": "applications_pkey",
            "Index Cond": "(id = i.application_id)",
        }
    ]
    assert not any((scan["Index Name"] or "").startswith(("idx_applications", "idx_job_roles")) for scan in due), due
