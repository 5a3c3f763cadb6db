"""POST /api/admin/data-cleanup and the retention timer (was data-retention-cleanup)"""

import azure.functions as func

bp = func.Blueprint()
