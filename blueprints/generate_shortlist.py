"""POST /api/ai/generate-shortlist (was generate-shortlist)"""

import azure.functions as func

bp = func.Blueprint()
