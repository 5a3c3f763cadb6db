"""The person's own data: GET /api/me/data-export (GDPR Art. 15), for the signed-in user."""

import azure.functions as func

from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api
from shared.privacy.models import DataExport

bp = func.Blueprint()


@api(
    bp,
    "me/data-export",
    methods=("GET",),
    auth=USER,
    response=DataExport,
    rate_limit=Bucket.DATA_EXPORT,
)
async def data_export(call: Call) -> DataExport:
    """Every record about the signed-in user as one JSON document, with how each interview was scored."""
    from shared.privacy.service import export_my_data

    return await export_my_data(call.services.db, call.user)
