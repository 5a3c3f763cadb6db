"""POST /api/ai/interviewer and /api/ai/interviewer/stream (was ai-interviewer)"""

import azure.functions as func

bp = func.Blueprint()
