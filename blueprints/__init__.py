"""The triggers, one module per feature (named as its folder under shared/), plus
the platform's own routes (health, api_docs, routing). Each binds its triggers
(HTTP routes through `@api`, the Event Grid trigger, the timer, the Durable
orchestrator and activities), calls the feature, answers.

At module level a blueprint imports the platform and its feature's models (the
declarations need them); the feature's service is imported inside each handler,
so the host indexes every function without loading any feature's working code
(cold start: tests/platform/test_cold_start.py, docs/PERFORMANCE.md)."""
