"""Reading a question: what kind of answer it wants, in what measure, and of what."""

from __future__ import annotations

import pytest

from assistant.questions import answer_fit, asked, counts


@pytest.mark.parametrize(
    ("question", "kind", "measure", "head"),
    [
        ("What was the launch price in yuan of Huawei's Mate 60 Pro?", "figure", "money", "price"),
        ("What was CXMT's total revenue for 2024?", "figure", "money", "revenue"),
        ("What was SMIC's total headcount at the end of 2025?", "figure", "", "headcount"),
        ("What technical threshold did BIS use for HBM?", "figure", "", ""),
        ("What market share did Huawei have in 2024?", "figure", "share", "market"),
        ("How many tokens of pre-training data did Qwen3 use?", "figure", "", "tokens"),
        ("How many kinds of equipment did it add controls on?", "figure", "", "equipment"),
        ("How many of them had Chinese companies ordered?", "figure", "", ""),
        ("How many NPC deputies voted for the plan?", "figure", "", "deputies"),
        ("How many does Huawei ship each year?", "figure", "", ""),
        ("What budget did the safety institute receive?", "figure", "money", "budget"),
        ("What does DeepSeek charge per million input tokens?", "figure", "money", ""),
        ("What did Nvidia pay for the licence?", "figure", "money", ""),
        ("When did the rule take effect?", "date", "", ""),
        ("Which company built the CPM models?", "name", "", ""),
    ],
)
def test_the_asked_kind_measure_and_head(question: str, kind: str, measure: str, head: str) -> None:
    want = asked(question)
    assert (want.kind, want.measure, want.head) == (kind, measure, head)


def test_take_place_asks_when_it_happened_and_is_not_a_word_the_passage_must_hold() -> None:
    want = asked("Where and when did the first UN Global Dialogue on AI Governance take place?")
    assert "place" not in want.terms and "dialogue" in want.terms


def test_a_count_may_stand_a_few_words_before_what_it_counts_but_not_a_date_or_money() -> None:
    assert counts("equipment", "BIS added 24 more types of chipmaking equipment to the list.")
    assert counts("gpus", "a cluster of 2,048 H800 GPUs")
    assert not counts("equipment", "In December 2024 the rule covered chipmaking equipment.")
    assert not counts("equipment", "It spent $40 billion on chipmaking equipment.")


def test_a_figure_written_with_its_unit_joined_on_answers_a_how_much_question() -> None:
    want = asked("How much GPU memory does ChatGLM-6B need?")
    assert answer_fit(want, "With INT4 it needed only about 6GB of GPU memory.") > 0
    assert answer_fit(want, "The 7nm chip draws 700W.") > 0
    assert answer_fit(want, "It ran on the H800 and the A100.") == 0  # names, not figures
