"""POST /api/ai/parse-resume as the worker calls it: CVs from the Supabase Storage
double, from Azurite, or uploaded; real PDFs, hostile ones included."""

from __future__ import annotations

import json
import uuid

import pytest

from shared.resumes import prompts as prompt
from shared.resumes.pdf_text import MAX_PAGES
from tests.ai import pdfs
from tests.ai.fixtures import CV_BUCKET, MODEL
from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("cv_services")

PARSED = {
    "personal": {
        "first_name": "Alex",
        "last_name": "Candidate",
        "email": "alex.candidate@example.test",
        "phone": "+61 400 000 000",
        "linkedin_url": "linkedin.com/in/alexcandidate",
        "portfolio_url": None,
        "location": {"suburb": "Sydney", "state": "NSW", "postcode": "2000", "country": "Australia"},
    },
    "employment": [
        {
            "job_title": "Senior Frontend Developer",
            "company_name": "Acme Pty Ltd",
            "start_date": "2020-01",
            "end_date": None,
            "is_current": True,
            "description": "Led a team of 5",
        }
    ],
    "education": [
        {
            "institution": "University of Sydney",
            "degree": "Bachelor of Computer Science",
            "field_of_study": "Computer Science",
            "end_date": "2015",
            "is_current": False,
        }
    ],
    "skills": [{"skill_name": "React", "skill_type": "hard"}, {"skill_name": "Mentoring", "skill_type": "soft"}],
    "summary": "A frontend engineer with eight years of experience.",
}


async def parse(user, body, ip, headers=None):
    headers = {**auth_headers(user), **(headers or {})}
    return await call_function("parse_resume", "POST", body, headers, client_ip=ip, path="/api/ai/parse-resume")


def multipart(data: bytes, field="file", filename="cv.pdf", boundary="----talentiBoundary7MA4YWxk"):
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


async def test_stored_cv_is_extracted_structured_and_validated(db, model_double, supabase_double, unique_ip):
    user = await create_user(db)
    supabase_double.put_object(CV_BUCKET, f"{user}/resume.pdf", pdfs.cv_pdf())
    model_double.push_tool_call(prompt.TOOL_NAME, PARSED)
    result = await parse(user, {"filePath": f"{user}/resume.pdf", "userId": str(user)}, unique_ip)
    assert result.status == 200, result
    body = result.json()
    assert body["success"] is True
    data = body["data"]
    assert data["personal"]["linkedin_url"] == "https://linkedin.com/in/alexcandidate"
    assert data["personal"]["portfolio_url"] == "" and data["personal"]["location"]["state"] == "NSW"
    assert data["employment"][0]["start_date"] == "2020-01-01" and data["employment"][0]["end_date"] is None
    assert data["education"][0]["end_date"] == "2015-01-01"
    assert data["skills"] == PARSED["skills"] and data["summary"] == PARSED["summary"]
    # What the model was sent: the PDF's real text, inside a JSON document.
    [sent] = model_double.chat_requests
    assert sent["model"] == MODEL and sent["messages"][0]["content"] == prompt.SYSTEM_PROMPT
    cv_text = json.loads(sent["messages"][1]["content"])["cv_text"]
    assert "Senior Frontend Developer, Acme Pty Ltd" in cv_text and "University of Sydney" in cv_text
    assert sent["tool_choice"]["function"]["name"] == prompt.TOOL_NAME
    assert supabase_double.requests[-1].raw_path == f"/storage/v1/object/{CV_BUCKET}/{user}/resume.pdf"


async def test_one_bad_optional_field_no_longer_costs_the_whole_parse(db, model_double, supabase_double, unique_ip):
    """The 502 that started the repair layer: a postcode over 20 characters. With it, an
    unreadable date, a skill of an unknown type and one in display case."""
    user = await create_user(db)
    supabase_double.put_object(CV_BUCKET, f"{user}/cv.pdf", pdfs.cv_pdf())
    answer = {
        **PARSED,
        "personal": {
            **PARSED["personal"],
            "location": {**PARSED["personal"]["location"], "postcode": "2000 Sydney NSW, Australia (CBD)"},
        },
        "employment": [{**PARSED["employment"][0], "start_date": "January 2020"}],
        "skills": [{"skill_name": "React", "skill_type": "expert"}, {"skill_name": "Mentoring", "skill_type": "Soft"}],
    }
    model_double.push_tool_call(prompt.TOOL_NAME, answer)
    result = await parse(user, {"filePath": f"{user}/cv.pdf", "userId": str(user)}, unique_ip)
    assert result.status == 200, result
    data = result.json()["data"]
    assert data["personal"]["location"]["postcode"] == "2000 Sydney NSW"
    assert data["employment"][0]["job_title"] == "Senior Frontend Developer"
    assert data["employment"][0]["start_date"] is None  # left out, the job kept
    assert data["skills"] == [{"skill_name": "Mentoring", "skill_type": "soft"}]
    assert len(model_double.chat_requests) == 1


async def test_an_answer_that_is_not_a_cv_is_retried_then_502(db, model_double, supabase_double, unique_ip):
    user = await create_user(db)
    supabase_double.put_object(CV_BUCKET, f"{user}/cv.pdf", pdfs.cv_pdf())
    model_double.push_tool_call(prompt.TOOL_NAME, {"cv": "Alex Candidate, frontend developer"})
    model_double.push_tool_call(prompt.TOOL_NAME, "I cannot read this CV.")
    result = await parse(user, {"filePath": f"{user}/cv.pdf", "userId": str(user)}, unique_ip)
    assert result.status == 502
    correction = model_double.chat_requests[1]["messages"][-1]["content"]
    assert "none of the fields personal, employment" in correction


@pytest.mark.parametrize(
    "make_path, status",
    [
        (lambda me, other: f"{other}/resume.pdf", 403),
        (lambda me, other: f"{me}/../{other}/resume.pdf", 400),
        (lambda me, other: f"/{me}/resume.pdf", 400),
        (lambda me, other: f"{me}\\resume.pdf", 400),
        (lambda me, other: f"{me}/res\x00ume.pdf", 400),
        (lambda me, other: f"{me}/resume.docx", 400),
        (lambda me, other: f"{me}/" + "a" * 600 + ".pdf", 400),
        (lambda me, other: f"{me}/%2e%2e/x.pdf", 400),
        (lambda me, other: f"{me}resume.pdf", 403),
    ],
)
async def test_path_rules_apply_before_any_storage_call(
    db, supabase_double, model_double, unique_ip, make_path, status
):
    me, other = await create_user(db), uuid.uuid4()
    result = await parse(me, {"filePath": make_path(me, other), "userId": str(me)}, unique_ip)
    assert result.status == status, result
    assert supabase_double.requests == [] and model_double.chat_requests == []


async def test_someone_elses_user_id_is_403(db, supabase_double, unique_ip):
    me, other = await create_user(db), uuid.uuid4()
    result = await parse(me, {"filePath": f"{me}/resume.pdf", "userId": str(other)}, unique_ip)
    assert result.status == 403 and supabase_double.requests == []


async def test_missing_file_is_404_and_bad_bodies_are_400(db, supabase_double, unique_ip):
    user = await create_user(db)
    result = await parse(user, {"filePath": f"{user}/missing.pdf", "userId": str(user)}, unique_ip)
    assert result.status == 404 and result.json()["error"] == "CV file not found"
    for body in ({}, {"filePath": 7}, {"filePath": f"{user}/x.pdf", "userId": "nope"}):
        assert (await parse(user, body, unique_ip)).status == 400


async def test_storage_failure_is_502(db, supabase_double, unique_ip):
    user = await create_user(db)
    supabase_double.fail_next(500, path="/storage/")
    result = await parse(user, {"filePath": f"{user}/cv.pdf"}, unique_ip)
    assert result.status == 502


HOSTILE = [
    ("encrypted", pdfs.encrypted_pdf, "password-protected"),
    ("corrupt", pdfs.corrupt_pdf, "damaged"),
    ("not a pdf", lambda: pdfs.NOT_A_PDF, "not a PDF"),
    ("image only", pdfs.image_only_pdf, "no readable text"),
    ("2,000 pages", pdfs.many_pages_pdf, f"at most {MAX_PAGES}"),
    ("page tree that lies", pdfs.lying_page_count_pdf, f"at most {MAX_PAGES}"),
    ("inflates to 64 MB", pdfs.huge_stream_pdf, "too large or complex"),
]


@pytest.mark.parametrize("name, make, phrase", HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_or_unusable_pdfs_are_422_without_a_model_call(
    db, supabase_double, model_double, unique_ip, name, make, phrase
):
    user = await create_user(db)
    supabase_double.put_object(CV_BUCKET, f"{user}/cv.pdf", make())
    result = await parse(user, {"filePath": f"{user}/cv.pdf", "userId": str(user)}, unique_ip)
    assert result.status == 422, result
    assert phrase in result.json()["error"]
    assert model_double.chat_requests == []


async def test_stored_file_over_10_mb_is_422(db, supabase_double, unique_ip):
    user = await create_user(db)
    supabase_double.put_object(CV_BUCKET, f"{user}/big.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024))
    result = await parse(user, {"filePath": f"{user}/big.pdf"}, unique_ip)
    assert result.status == 422 and "larger than 10 MB" in result.json()["error"]


async def test_multipart_upload(db, model_double, supabase_double, unique_ip):
    user = await create_user(db)
    model_double.push_tool_call(prompt.TOOL_NAME, PARSED)
    body, headers = multipart(pdfs.cv_pdf())
    result = await parse(user, body, unique_ip, headers)
    assert result.status == 200, result
    assert result.json()["data"]["personal"]["first_name"] == "Alex"
    assert "Acme Pty Ltd" in json.loads(model_double.chat_requests[0]["messages"][1]["content"])["cv_text"]
    assert supabase_double.requests == []  # nothing read from storage


async def test_multipart_without_file_part_or_boundary_is_400_and_oversize_is_413(db, unique_ip):
    user = await create_user(db)
    body, headers = multipart(pdfs.cv_pdf(), field="document")
    result = await parse(user, body, unique_ip, headers)
    assert result.status == 400 and "'file'" in result.json()["error"]
    result = await parse(user, body, unique_ip, {"content-type": "multipart/form-data"})
    assert result.status == 400 and "boundary" in result.json()["error"]
    body, headers = multipart(b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024 + 10))
    assert (await parse(user, body, unique_ip, headers)).status == 413


async def test_multipart_hostile_pdf_is_422(db, model_double, unique_ip):
    user = await create_user(db)
    body, headers = multipart(pdfs.encrypted_pdf())
    result = await parse(user, body, unique_ip, headers)
    assert result.status == 422 and model_double.chat_requests == []


async def test_wrong_content_type_is_415(db, unique_ip):
    user = await create_user(db)
    result = await parse(user, b"%PDF-1.7", unique_ip, {"content-type": "application/pdf"})
    assert result.status == 415


async def test_unconfigured_storage_is_503(db, services, unique_ip):
    user = await create_user(db)
    storage = services.__dict__.pop("cv_storage")
    try:
        result = await parse(user, {"filePath": f"{user}/cv.pdf"}, unique_ip)
    finally:
        services.__dict__["cv_storage"] = storage
    assert result.status == 503 and "SUPABASE_SERVICE_ROLE_KEY" in result.json()["error"]


async def test_cvs_in_an_azure_blob_container(db, model_double, azurite, services, unique_ip):
    from azure.storage.blob.aio import BlobServiceClient

    from shared.adapters.cv_storage import cv_storage_from_settings
    from shared.platform.config import Settings

    user = await create_user(db)
    async with BlobServiceClient.from_connection_string(azurite) as blobs:
        container = blobs.get_container_client("cvs-test")
        if not await container.exists():
            await container.create_container()
        await container.upload_blob(f"{user}/resume.pdf", pdfs.cv_pdf(), overwrite=True)
        await container.upload_blob(f"{user}/big.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024 + 1), overwrite=True)
    storage = cv_storage_from_settings(
        Settings(APP_ENV="test", CV_STORAGE="blob", CV_BUCKET="cvs-test", CV_STORAGE_CONNECTION_STRING=azurite)
    )
    supabase_storage = services.__dict__["cv_storage"]
    services.__dict__["cv_storage"] = storage
    try:
        model_double.push_tool_call(prompt.TOOL_NAME, PARSED)
        result = await parse(user, {"filePath": f"{user}/resume.pdf", "userId": str(user)}, unique_ip)
        assert result.status == 200, result
        assert "University of Sydney" in json.loads(model_double.chat_requests[0]["messages"][1]["content"])["cv_text"]
        assert (await parse(user, {"filePath": f"{user}/nope.pdf"}, unique_ip)).status == 404
        result = await parse(user, {"filePath": f"{user}/big.pdf"}, unique_ip)
        assert result.status == 422 and "larger than 10 MB" in result.json()["error"]
    finally:
        services.__dict__["cv_storage"] = supabase_storage
        await storage.close()


def test_blob_storage_needs_its_connection_string():
    from shared.adapters.cv_storage import cv_storage_from_settings
    from shared.platform.config import Settings
    from shared.platform.errors import NotConfigured

    with pytest.raises(NotConfigured, match="CV_STORAGE_CONNECTION_STRING"):
        cv_storage_from_settings(Settings(APP_ENV="test", CV_STORAGE="blob"))
