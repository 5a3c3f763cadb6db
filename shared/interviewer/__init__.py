"""The AI interviewer (was ai-interviewer): one interviewer turn, answered whole
or streamed, with the answer's competency assessment beside it.

service.py (the turn and the stream), queries.py (the interview and its
transcript), models.py, prompts.py (the interviewer), competency_prompts.py
(the competency assessment, its own prompt and version). Triggers:
blueprints/interviewer.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS: tuple[str, ...] = ()
