"""The recordings adapter: which URLs are ours, and batch deletes against Azurite."""

import pytest

from shared.adapters.recordings import RecordingStore, blob_endpoint
from tests.retention.seed import CONTAINER, existing_blobs

PROD = RecordingStore("recordings", account_url="https://talentirec.blob.core.windows.net")
AZURITE = RecordingStore(
    "recordings",
    connection_string=(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    ),
)


@pytest.mark.parametrize(
    "url, name",
    [
        ("https://talentirec.blob.core.windows.net/recordings/2026/call-1/content.mp4", "2026/call-1/content.mp4"),
        ("https://TALENTIREC.blob.core.windows.net/recordings/a/b.json", "a/b.json"),
        ("https://talentirec.blob.core.windows.net:443/recordings/a", "a"),
        ("https://talentirec.blob.core.windows.net/recordings/take%201.mp4", "take 1.mp4"),
    ],
)
def test_urls_in_our_container_name_their_blob(url, name):
    assert PROD.blob_name(url) == name


@pytest.mark.parametrize(
    "url",
    [
        "https://talentirec.blob.core.windows.net/other/a.mp4",  # another container
        "https://talentirec.blob.core.windows.net/recordingsX/a.mp4",
        "https://talentirec.blob.core.windows.net/recordings/",  # the container itself
        "https://talentirec.blob.core.windows.net/recordings/../other/a.mp4",  # traversal out of it
        "https://talentirec.blob.core.windows.net/recordings/a/../../other/b",
        "https://talentirec.blob.core.windows.net/recordings/%2e%2e/other/a",  # encoded traversal
        "https://talentirec.blob.core.windows.net/recordings/a%2F..%2F..%2Fother",  # encoded slashes
        "https://talentirec.blob.core.windows.net/recordings/a%5Cb",  # encoded backslash
        "https://talentirec.blob.core.windows.net/recordings/a//b",
        "https://talentirec.blob.core.windows.net/recordings/./a",
        "https://talentirec.blob.core.windows.net/recordings/a?sv=2024&sig=abc",  # query (SAS)
        "https://talentirec.blob.core.windows.net/recordings/a#frag",
        "https://attacker@talentirec.blob.core.windows.net/recordings/a",  # user info
        "https://talentirec.blob.core.windows.net@evil.example/recordings/a",
        "https://talentirec.blob.core.windows.net.evil.example/recordings/a",
        "https://talentirec.blob.core.windows.net:8443/recordings/a",  # another port
        "https://talentirec.blob.core.windows.net:99999/recordings/a",  # invalid port
        "http://talentirec.blob.core.windows.net/recordings/a",  # another scheme
        "https://otheraccount.blob.core.windows.net/recordings/a",
        "https://us-storage.asm.skype.com/v1/objects/0-wus-d1-abc/content/video",  # ACS storage
        "file:///recordings/a",
        "https://talentirec.blob.core.windows.net/recordings/a\nb",
        " https://talentirec.blob.core.windows.net/recordings/a",
        "https://talentirec.blob.core.windows.net/recordings/%ff",  # not UTF-8
        "",
        None,
        42,
    ],
)
def test_every_other_url_is_refused(url):
    assert PROD.blob_name(url) is None


def test_path_style_endpoints_carry_the_account_in_the_path():
    assert AZURITE.blob_name("http://127.0.0.1:10000/devstoreaccount1/recordings/x/y.mp4") == "x/y.mp4"
    assert AZURITE.blob_name("http://127.0.0.1:10000/otheraccount/recordings/x/y.mp4") is None
    assert AZURITE.blob_name("http://127.0.0.1:10000/recordings/x/y.mp4") is None
    assert AZURITE.blob_name("http://127.0.0.1:10001/devstoreaccount1/recordings/x") is None
    assert AZURITE.blob_name("http://localhost:10000/devstoreaccount1/recordings/x") is None


def test_blob_endpoint_of_connection_strings():
    assert (
        blob_endpoint("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k;EndpointSuffix=core.windows.net")
        == "https://acct.blob.core.windows.net"
    )
    assert blob_endpoint("AccountName=acct;AccountKey=k") == "https://acct.blob.core.windows.net"
    assert blob_endpoint("UseDevelopmentStorage=true") == "http://127.0.0.1:10000/devstoreaccount1"
    with pytest.raises(ValueError):
        blob_endpoint("AccountKey=k")


async def test_batch_delete_counts_missing_blobs_as_deleted_and_reports_real_failures(store, blob_service):
    container = blob_service.get_container_client(CONTAINER)
    for name in ("adapter/a", "adapter/b", "adapter/leased"):
        await container.upload_blob(name, b"x", overwrite=True)
    lease = await container.get_blob_client("adapter/leased").acquire_lease(-1)
    try:
        async with store.open() as session:
            failed = await session.delete(["adapter/a", "adapter/b", "adapter/gone", "adapter/leased"])
        assert failed == {"adapter/leased"}  # 412: a leased blob cannot be deleted without its lease
        assert await existing_blobs(blob_service, ["adapter/a", "adapter/b", "adapter/leased"]) == {"adapter/leased"}
    finally:
        await lease.release()


async def test_more_than_one_batch(store, blob_service, monkeypatch):
    import shared.adapters.recordings as recordings

    monkeypatch.setattr(recordings, "MAX_BATCH", 3)
    container = blob_service.get_container_client(CONTAINER)
    names = [f"batches/{i}" for i in range(7)]
    for name in names:
        await container.upload_blob(name, b"x", overwrite=True)
    async with store.open() as session:
        assert await session.delete(names + names[:2]) == set()
    assert await existing_blobs(blob_service, names) == set()


async def test_an_unreachable_account_raises_rather_than_failing_blob_by_blob(azurite):
    from shared.adapters.recordings import RecordingsUnavailable

    endpoint = azurite.split("BlobEndpoint=http://")[1].split("/")[0]
    unreachable = RecordingStore(CONTAINER, connection_string=azurite.replace(endpoint, "127.0.0.1:9"), retries=0)
    async with unreachable.open() as session:
        with pytest.raises(RecordingsUnavailable) as raised:
            await session.delete(["a", "b"])
    assert raised.value.status == 502
