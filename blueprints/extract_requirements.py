"""POST /api/ai/extract-requirements (was extract-requirements)"""

import azure.functions as func

bp = func.Blueprint()
