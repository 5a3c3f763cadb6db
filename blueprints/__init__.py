"""The triggers, one module per feature (named as its folder under shared/), plus
the platform's own routes (health, api_docs, routing). Each binds its triggers
(HTTP routes through `@api`, the Event Grid trigger, the timer, the Durable
orchestrator and activities), calls the feature, answers."""
