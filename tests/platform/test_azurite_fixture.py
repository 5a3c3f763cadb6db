from azure.storage.blob.aio import BlobServiceClient


async def test_azurite_serves_the_async_blob_client_including_batch_deletes(azurite):
    async with BlobServiceClient.from_connection_string(azurite) as service:
        container = service.get_container_client("fixture-check")
        await container.create_container()
        for name in ("a", "b"):
            await container.upload_blob(name, b"x")
        results = await container.delete_blobs("a", "b", "missing", raise_on_any_failure=False)
        statuses = (
            [r.status_code async for r in results]
            if hasattr(results, "__aiter__")
            else [r.status_code for r in results]
        )
        assert statuses == [202, 202, 404]
