"""POST /api/ai/score and the scoring orchestration (was score-interview)"""

import azure.functions as func

bp = func.Blueprint()
