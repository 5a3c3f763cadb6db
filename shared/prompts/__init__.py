"""Prompts sent to the AI model, one module per use, each with its version."""
