"""Self-tests: the real azure-communication-identity async client against AcsIdentityDouble."""

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.identity import CommunicationUserIdentifier
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.doubles.acs_identity_server import AcsIdentityDouble


@pytest.fixture
def double():
    with AcsIdentityDouble() as d:
        yield d


def _client(double, key=None):
    return CommunicationIdentityClient(double.url, AzureKeyCredential(key or double.access_key), retry_total=0)


@pytest.mark.asyncio
async def test_create_user_and_token_then_get_token(double):
    async with _client(double) as client:
        user, token = await client.create_user_and_token(["voip"])
        again = await client.get_token(user, ["voip", "chat"], token_expires_in=timedelta(hours=1))
        plain_user = await client.create_user()
    assert user.properties["id"].startswith(f"8:acs:{double.resource_id}_")
    assert token.token.count(".") == 2 and again.token != token.token
    # The SDK hands back the wire string, not an epoch int.
    expires = datetime.fromisoformat(again.expires_on)
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert double.identities_created == 2 and double.tokens_issued == 2
    assert double.rejected_requests == 0
    assert plain_user.properties["id"] in double.identities
    create = double.requests_to("/identities", "POST")[0]
    assert create.json["createTokenWithScopes"] == ["voip"]
    assert create.query["api-version"] == "2023-10-01"


@pytest.mark.asyncio
async def test_unknown_identity_is_404(double):
    async with _client(double) as client:
        with pytest.raises(ResourceNotFoundError) as err:
            await client.get_token(CommunicationUserIdentifier("8:acs:nobody_1"), ["voip"])
    assert err.value.error.code == "IdentityNotFound"


@pytest.mark.asyncio
async def test_delete_user(double):
    async with _client(double) as client:
        user = await client.create_user()
        await client.delete_user(user)
    assert double.deleted_identities == [user.properties["id"]]


@pytest.mark.asyncio
async def test_wrong_key_is_rejected(double):
    async with _client(double, key=base64.b64encode(os.urandom(32)).decode()) as client:
        with pytest.raises(HttpResponseError) as err:
            await client.create_user_and_token(["voip"])
    assert err.value.status_code == 401
    assert double.rejected_requests == 1 and double.identities_created == 0


@pytest.mark.asyncio
async def test_trailing_slash_endpoint_signs_a_different_host(double):
    async with CommunicationIdentityClient(
        double.url + "/", AzureKeyCredential(double.access_key), retry_total=0
    ) as client:
        with pytest.raises(HttpResponseError) as err:
            await client.create_user()
    assert err.value.status_code == 401


@pytest.mark.asyncio
async def test_injected_failures(double):
    double.fail_next(500)
    double.fail_next(503, headers={"retry-after": "0"})
    async with _client(double) as client:
        for status in (500, 503):
            with pytest.raises(HttpResponseError) as err:
                await client.create_user_and_token(["voip"])
            assert err.value.status_code == status
        user, _ = await client.create_user_and_token(["voip"])
    assert double.identities_created == 1
