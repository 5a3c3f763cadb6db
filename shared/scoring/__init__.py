"""Interview scoring (was the `score-interview` edge function), in three modules:

rules.py          pure: rubric, transcript, quotes, the result
orchestration.py  the Durable orchestrator and its three activities
requests.py       starting or joining a run, waiting, reporting it
"""
