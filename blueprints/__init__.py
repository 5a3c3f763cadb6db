"""Entrypoints: one module per former edge function (plus events, retention
and scoring). Each parses the request, calls a service, answers."""
