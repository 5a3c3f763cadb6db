"""How the embedded model's server keeps interview turns short: which instance
a request gets (the one that already computed the prompt's beginning) and
where a spoken turn ends. Pure: no model is loaded."""

from __future__ import annotations

import threading

import pytest

from devhost.local_model.engine import Instances, prompt_key, shared_prefix, turn_complete


def conversation(system: str, *turns: str) -> list[dict]:
    roles = ("assistant", "user")
    return [{"role": "system", "content": system}] + [
        {"role": roles[i % 2], "content": text} for i, text in enumerate(turns)
    ]


@pytest.mark.parametrize(
    "text, over",
    [
        ("Hello", False),
        ("Welcome to the interview.", False),
        ("Thanks. Could you tell me about a system you designed?", True),
        ('Good answer. Ask yourself "what failed?"', True),
        ("One. Two. Three. Four.", True),
        ("One. Two. Three.", False),
        ("It grew by 3.5 percent", False),
        ("What went wrong?  \n", True),
    ],
)
def test_a_spoken_turn_ends_at_its_question_or_fourth_sentence(text, over):
    assert turn_complete(text) is over


def test_shared_prefix_counts_the_common_beginning():
    assert shared_prefix("interview turn", "interview time") == len("interview t")
    assert shared_prefix("", "anything") == 0
    assert shared_prefix("same", "same") == 4
    assert shared_prefix("abc", "abcdef") == 3
    assert shared_prefix("x", "y") == 0


def test_prompt_keys_differ_where_roles_differ():
    as_user = [{"role": "user", "content": "hi"}]
    as_assistant = [{"role": "assistant", "content": "hi"}]
    assert prompt_key(as_user) != prompt_key(as_assistant)


def test_each_conversation_returns_to_the_instance_that_computed_its_beginning():
    pool = Instances(["first", "second"])
    interview = conversation("You are the interviewer.", "Tell me about you?", "I build payment systems.")
    assessment = conversation("You record competencies.", '{"answer": "I build payment systems."}')
    with pool.borrow(interview) as a, pool.borrow(assessment) as b:
        assert a != b
    # The next turn of each, each asked with both free, finds its own instance again.
    with pool.borrow([*interview, {"role": "assistant", "content": "Why?"}]) as a_again:
        assert a_again == a
    with pool.borrow([*assessment, {"role": "user", "content": "next answer"}]) as b_again:
        assert b_again == b


def test_a_request_waits_for_an_instance_and_gets_the_one_returned():
    pool = Instances(["only"])
    got: list[str] = []
    with pool.borrow(conversation("one")):
        waiter = threading.Thread(target=lambda: got.append(_borrow_once(pool)))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive() and got == []  # no free instance: it waits
    waiter.join(5)
    assert got == ["only"]


def _borrow_once(pool: Instances) -> str:
    with pool.borrow(conversation("two")) as llm:
        return str(llm)
