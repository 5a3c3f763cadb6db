"""Interview scoring (was the `score-interview` edge function): service.py (asking
for a score; the orchestration's steps), rules.py (pure: rubric, transcript,
quotes, the result), queries.py, models.py, prompts.py. Its triggers, the
Durable orchestrator and activities included, are in blueprints/scoring.py."""
