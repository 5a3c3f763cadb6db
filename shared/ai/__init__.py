"""The AI model: the client every AI feature uses (client.py: providers, timeouts,
retries, the contract's errors), its answer engine (answers.py: schemas from the
feature models, JSON extraction, repair) and the embedded development model as
the client sees it (local_model.py)."""
