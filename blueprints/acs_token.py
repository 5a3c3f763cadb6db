"""POST /api/acs/token (was acs-token-generator)"""

import azure.functions as func

bp = func.Blueprint()
