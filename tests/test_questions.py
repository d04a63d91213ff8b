"""Reading a question: what kind of answer it wants, in what measure, and of what."""

from __future__ import annotations

import pytest

from assistant.questions import answer_fit, answers_kind, asked, counts, mentions, names_in, without


@pytest.mark.parametrize(
    ("question", "kind", "measure", "head"),
    [
        # a price is given in money, not in the word "price"
        ("What was the launch price in yuan of Huawei's Mate 60 Pro?", "figure", "money", ""),
        ("What price per share did the government pay for Intel's new shares?", "figure", "", ""),
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
        # the answer is a company's name, which need not hold the word "company"
        ("Which company was that?", "name", "", ""),
        # a comparison of revenues compares figures; what is asked is in the last sentence
        ("How did SMIC's 2025 revenue compare with its 2024 revenue?", "figure", "", ""),
        ("Both listed first in 2026. How did their 2025 revenues compare?", "figure", "", ""),
        ("When did the U.S. Commerce Department add Zhipu to the Entity List?", "date", "", ""),
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


def test_a_point_release_is_a_name_of_its_own_and_not_a_mention_of_its_base() -> None:
    assert names_in("How many tokens did Qwen2.5 use, and what did DeepSeek-V3.1 add?") == [
        "Qwen2.5", "DeepSeek-V3.1",
    ]  # fmt: skip
    assert not mentions("Alibaba launched Qwen3.5 in February 2026.", "Qwen3")
    assert mentions("Alibaba released Qwen3, then Qwen3.5.", "Qwen3")
    assert mentions("It ran Qwen3-235B-A22B.", "Qwen3")  # a size of Qwen3 is still Qwen3


def test_a_brief_s_own_coverage_limit_is_not_a_date_that_answers() -> None:
    want = asked("When did Alibaba release Qwen3?")
    status = "The models stayed open; releases after September 2025 are not covered"
    assert answer_fit(want, status) == 0
    # only the brief's own limit: a fact about what a rule does not cover keeps its date
    h20 = "Qwen3, released in March 2024, is not covered by the October 2023 rule"
    assert answer_fit(want, h20) > 0
    assert answer_fit(want, "Alibaba released Qwen3 on April 29, 2025") > 0


def test_a_premise_is_taken_out_of_the_question_with_its_preposition_or_possessive() -> None:
    assert without("When did Tencent release Qwen3?", "Tencent") == "When did release Qwen3?"
    assert without("How many tokens was DeepSeek's 2019 V3 trained on?", "2019") == (
        "How many tokens was DeepSeek's V3 trained on?"
    )
    assert without("How much did Meta's Stargate plan?", "Meta") == "How much did Stargate plan?"
    assert without("Why was it paused for two years?", "two years") == "Why was it paused?"
    # a point release or a joined name is another name, not the premise
    assert (
        without("When did Qwen3 come before Qwen3.5?", "Qwen3") == "When did come before Qwen3.5?"
    )
    assert (
        without("What did it ship in 2024-25, not 2024?", "2024")
        == "What did it ship in 2024-25, not?"
    )
    assert without("Who made it (not SMIC)?", "SMIC") == "Who made it?"


def test_a_count_does_not_reach_across_a_bracket_to_the_counted_word() -> None:
    assert not counts("companies", "designers (Supplement No. 6 to Part 740) and OSAT companies")
    assert not counts("companies", "Part 740: approved OSAT companies")
    assert counts("gpus", "It trained on 2,048 (H800) GPUs")  # an aside is skipped, not a break
    assert counts("dialects", "Qwen3.5 supports 201 languages and dialects")


def test_the_sides_of_a_choice_followed_by_a_second_question_or_after_a_colon_are_read() -> None:
    for question, sides in [
        ("Which listed first, Zhipu or MiniMax, and on which days?", [["zhipu"], ["minimax"]]),
        ("Which came first in 2024: the Kumamoto opening or the Dresden groundbreaking?",
         [["kumamoto", "opening"], ["dresden", "groundbreaking"]]),
    ]:  # fmt: skip
        want = asked(question)
        assert want.comparison and [sorted(s) for s in want.sides] == sides


def test_a_question_that_asks_for_dates_wants_two_dates_one_per_side() -> None:
    for question, sides in [
        ("On what dates did Washington blacklist Huawei and, later, SMIC?", [["huawei"], ["smic"]]),
        ("On which days did Zhipu and MiniMax list in Hong Kong?", [["zhipu"], ["minimax"]]),
        ("What were the dates of the two export rules?", []),
    ]:  # fmt: skip
        want = asked(question)
        assert want.kind == "date" and want.comparison
        assert [sorted(s) for s in want.sides] == sides
    one = asked("On what date did the rule take effect?")
    assert one.kind == "date" and not one.comparison
    assert asked("How many days did the pause last?").kind == "figure"


def test_against_compares_only_when_one_thing_is_measured_against_another() -> None:
    assert not asked("Why did China file a WTO complaint against the US chip controls?").comparison
    assert not asked("Which official announced the finding against Nvidia?").comparison
    stacked = asked("How did the A800 stack up against the A100?")
    assert stacked.comparison and [sorted(s) for s in stacked.sides] == [["a800"], ["a100"]]


def test_a_pronoun_that_opens_a_sentence_is_no_name() -> None:
    assert names_in("It is cited as China's first Class III device") == ["China", "Class III"]
    assert names_in("He spoke at the opening plenary. They met Wu Zhaohui") == ["Wu Zhaohui"]


def test_a_hyphened_count_is_found_written_apart_and_a_margin_is_a_measure() -> None:
    assert counts("gpu-hours", "total: 2.788 million H800 GPU hours")
    assert asked("By what margin did the Senate vote to strip the freeze?").head == ""


@pytest.mark.parametrize(
    ("question", "holder"),
    [
        ("Who was named to lead the Justice Department's AI Litigation Task Force?", "person"),
        ("Who is the company's chief executive?", "person"),
        ("Who spoke for China at the summit?", "person"),
        ("Which countries joined the organisation as founding members?", "country"),
        ("Who makes the Ascend chips?", ""),  # a maker is an organisation as often as not
    ],
)
def test_a_who_question_about_a_role_wants_a_person_and_which_countries_a_country(
    question: str, holder: str
) -> None:
    assert asked(question).holder == holder


def test_a_person_is_asked_for_and_an_organisation_or_a_title_alone_does_not_answer() -> None:
    want = asked("Who was named to lead the AI Litigation Task Force?")
    assert not answers_kind(want, "The Attorney General set up an AI Litigation Task Force.")
    assert not answers_kind(want, "The Justice Department runs the AI Litigation Task Force.")
    assert answers_kind(want, "Prime Minister Rishi Sunak opened the summit.")
    assert answers_kind(want, "The task force is led by Jane Doe of the Justice Department.")


def test_which_countries_is_answered_by_a_country_not_by_any_name() -> None:
    want = asked("Which countries joined the World AI Cooperation Organization?")
    assert not answers_kind(want, "Premier Li Qiang proposed it at WAIC in Shanghai.")
    assert answers_kind(want, "Pakistan and Serbia said they would join.")


def test_a_unit_the_question_names_must_be_the_answer_s_unit() -> None:
    want = asked("What is the peak FP8 throughput, in TFLOPS, of the MI308?")
    assert want.kind == "figure" and want.unit == "TFLOPS"
    assert answer_fit(want, "The MI308 has 192 GB of HBM3 memory.") == 0
    assert answer_fit(want, "Its peak FP8 throughput is 1,300 TFLOPS.") > 0


def test_a_thing_known_by_its_name_is_asked_for_by_name_without_repeating_the_word() -> None:
    licence = asked("Under what licence did DeepSeek release R1 and its distilled models?")
    assert licence.kind == "name" and not licence.head
    assert answers_kind(licence, "DeepSeek released R1 under the MIT License")
    assert not answers_kind(licence, "DeepSeek released R1 and six distilled models")
    statute = asked("Which statute did the 2023 order lean on?")
    assert statute.kind == "name"
    assert answers_kind(statute, "It invoked the Defense Production Act")
