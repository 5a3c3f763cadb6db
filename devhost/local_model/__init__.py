"""The embedded AI model for development: SmolLM2-135M-Instruct on the CPU
through llama.cpp, behind a small OpenAI-compatible server on loopback, so the
app's AI adapter and prompts work unchanged (AI_PROVIDER=local).

    python -m devhost.local_model serve [--port 7072]   # POST /v1/chat/completions, GET /health
    python -m devhost.local_model install              # what `make model` runs (then the self-test)
    python -m devhost.local_model selftest             # load and say a few words (exit 0), in a child
    python -m devhost.local_model status

One module per reason to change: install.py (the portable build and its wheel
cache), engine.py (llama.cpp and the Chat Completions semantics), server.py
(HTTP), selftest.py (does this build run on this CPU), supervisor.py (the
local host's background preparation, watching and restarts).
"""
