"""Names vulture cannot see used: called by a framework, a host or the tests.
Read by `vulture` (pyproject.toml) as uses of these names; never imported or run."""

# Settings the Functions host reads itself (log level, the timer's %RETENTION_SCHEDULE%);
# pydantic and pydantic-settings read model_config.
LOG_LEVEL, RETENTION_SCHEDULE, model_config

# Called by the tests, the benchmarks and the parity tool.
running_azurite, start_devhost, stop, answer_spec, model_name, verdict_for_installed

# Fields of the llama.cpp build's key (hashed and recorded as a whole by dataclasses.asdict).
python, compiler

# The embedded model server's request handler: http.server calls and reads these.
protocol_version, log_message, do_GET, do_POST, close_connection, daemon_threads

# Set on the resend module for its SDK to use.
default_async_http_client

# Fields of llama.cpp's quantize parameters (a ctypes structure read by the C library).
ftype, allow_requantize

# The Durable runtime's background task, kept so that it is not garbage-collected.
runner

# Keys of JSON documents typed as TypedDicts (read by the orchestrator, the health answer).
database, transient, firstRetryIntervalMs, maxAttempts, rubricVersion, modelVersion, promptVersion
# ... and fields of the readiness answer (a pydantic model built from a dict of check names).
recordings_storage, notReady

# Protocol parameters (ports.py) and adapters reached by name (Services.optional).
orchestration_function_name, client_input, supabase_admin

# The tests replace the process's services.
set_services

# A deletion request type named beside its siblings (every request deletes recordings, so
# recording_only needs no branch of its own); an applicant's field the ranking tests compare.
RECORDING_ONLY, created_at

# The answer engine's schema markers, used by the feature models (which vulture does not read).
ESSENTIAL, Vocabulary, Aliases, Clamp

# The retention registry's reasons and store steps, read by tests/retention/test_erase_rules.py.
kept_because, STORE_STEPS

# Each feature's exported modules, read by the layout test (tests/platform/test_layout.py).
EXPORTS

# The bias audit's choices, read by shared/reports/models.py (which vulture does not read).
STAGES, FORMATS

# OpenTelemetry: the SDK calls the file exporters' methods; azure-core reads the tracing setting;
# log handlers read the request and trace ids set on every record (shared/platform/logs.py).
export, force_flush, shutdown, timeout_millis, tracing_implementation, requestId, traceId
