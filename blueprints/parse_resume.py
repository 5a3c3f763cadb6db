"""POST /api/ai/parse-resume (was parse-resume)"""

import azure.functions as func

bp = func.Blueprint()
