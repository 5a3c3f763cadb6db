"""GET/POST /api/azure/speech-token (was azure-speech-token)"""

import azure.functions as func

bp = func.Blueprint()
