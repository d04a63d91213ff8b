"""Composing an answer from scored candidate sentences: which sentence may lead, without a model
or an index (the candidates' chances are given)."""

from __future__ import annotations

from assistant.composing import Candidate, compose, passage_sentences
from assistant.questions import asked
from assistant.records import Chunk


def _chunk(n: int, title: str, text: str) -> Chunk:
    return Chunk(f"c{n}", text, f"doc{n}.md", title, "", None, 0, len(text), 0)


GOVERNANCE = _chunk(
    0, "Global AI governance",
    "On 26 August 2025 resolution 79/325 created the Independent Scientific Panel on AI.",
)  # fmt: skip
PANEL = _chunk(
    1, "The Independent Scientific Panel on AI",
    "The Independent Scientific Panel on AI has 40 experts who sit for three-year terms.",
)  # fmt: skip
OTHER = _chunk(2, "SMIC", "SMIC has 40 experts who sit on its board for three-year terms.")
QUESTION = "How many experts sit on the Independent Scientific Panel on AI?"


def _candidate(chunk: int, text: str, relevance: float) -> Candidate:
    return Candidate(chunk, text, relevance, 0.5, typed=True)


def test_a_close_second_leads_when_the_first_ones_passage_says_nothing_of_what_is_asked() -> None:
    # The likeliest sentence names the panel but its passage never speaks of experts sitting on
    # it; the next, nearly as likely, does and answers.
    top = _candidate(0, GOVERNANCE.text, 0.30)
    answer = _candidate(1, PANEL.text, 0.25)
    composed = compose(asked(QUESTION), [top, answer], [GOVERNANCE, PANEL])
    assert composed.chosen and composed.chosen[0] is answer


def test_a_close_second_about_something_else_does_not_lead() -> None:
    # Nearly as likely, and it speaks of experts, but of another body: declining is right.
    top = _candidate(0, GOVERNANCE.text, 0.30)
    other = _candidate(1, OTHER.text, 0.25)
    composed = compose(asked(QUESTION), [top, other], [GOVERNANCE, OTHER])
    assert not composed.chosen and composed.why


def test_a_far_second_does_not_lead() -> None:
    top = _candidate(0, GOVERNANCE.text, 0.30)
    answer = _candidate(1, PANEL.text, 0.055)  # above the floor, below a fifth of the first
    assert not compose(asked(QUESTION), [top, answer], [GOVERNANCE, PANEL]).chosen


JAPAN = _chunk(
    0, "Japan's tool controls",
    "Together with the Dutch scanner licences that took effect on 1 September 2023, Japan's tool "
    "controls covered more tools. Japan's tool controls took effect on 23 July 2023.",
)  # fmt: skip
DUTCH = _chunk(
    1, "Dutch scanner licences", "The Dutch scanner licences took effect on 1 September 2023."
)


def test_each_side_of_a_comparison_gets_its_own_fact_not_the_other_side_s_again() -> None:
    want = asked("Which took effect first, Japan's tool controls or the Dutch scanner licences?")
    assert want.comparison and len(want.sides) == 2
    together, own = JAPAN.text.split(". ")
    japan = [_candidate(0, together, 0.40), _candidate(0, own.rstrip("."), 0.30)]
    dutch = [_candidate(1, DUTCH.text.rstrip("."), 0.50)]
    candidates = sorted([*japan, *dutch], key=lambda c: -c.relevance)
    composed = compose(want, candidates, [JAPAN, DUTCH], per_side=[japan, dutch])
    said = " ".join(c.text for c in composed.chosen)
    assert "23 July 2023" in said and "1 September 2023" in said


QWEN = _chunk(
    0, "Alibaba's Qwen models",
    "Alibaba launched Qwen3.5 on 16 February 2026, ten months after Qwen3. Alibaba released "
    "Qwen3 on 29 April 2025 with eight open models.",
)  # fmt: skip


def test_a_point_release_s_date_does_not_answer_for_its_base_model() -> None:
    later, own = (s.rstrip(".") for s in QWEN.text.split(". "))
    candidates = [_candidate(0, later, 0.60), _candidate(0, own, 0.40)]
    composed = compose(asked("When did Alibaba release Qwen3?"), candidates, [QWEN])
    said = [c.text for c in composed.chosen]
    assert said == [own]  # neither leading nor following
    asked_later = compose(asked("When did Alibaba launch Qwen3.5?"), candidates, [QWEN])
    assert asked_later.chosen[0].text == later
    aside = "Qwen3 (the successor of Qwen2.5) came out on 29 April 2025"
    assert compose(asked("When did Qwen3 come out?"), [_candidate(0, aside, 0.5)], [QWEN]).chosen
    dated = "Qwen3.5 (16 February 2026): a successor of Qwen3 with more languages"
    assert not compose(
        asked("When did Qwen3 come out?"), [_candidate(0, dated, 0.5)], [QWEN]
    ).chosen


def test_a_list_item_that_is_all_bold_is_a_fact_and_a_short_one_with_a_figure_counts() -> None:
    chunk = _chunk(
        0, "DeepSeek-V3",
        "- **128K-token context window.**\n- **Open weights.**\n- **Chips used in 2024 runs:**\n",
    )  # fmt: skip
    assert [s for _, s in passage_sentences([chunk])] == ["128K-token context window"]


FUND = _chunk(
    0, "The city chip fund",
    "The city chip fund (set up under Article 12) and its shareholders meet once a year. The city "
    "chip fund has 19 shareholders.",
)  # fmt: skip


def test_a_how_many_answer_is_led_by_a_sentence_that_counts_what_is_asked() -> None:
    meeting, count = (s.rstrip(".") for s in FUND.text.split(". "))
    candidates = [_candidate(0, meeting, 0.60), _candidate(0, count, 0.40)]
    composed = compose(
        asked("How many shareholders does the city chip fund have?"), candidates, [FUND]
    )
    assert composed.chosen[0].text == count


DEAL = _chunk(
    0, "Meta and Manus",
    "On 29 December 2025 Meta said it would buy Manus, the agent start-up, for its agent work.",
)  # fmt: skip


def test_the_date_of_one_stage_of_an_event_does_not_answer_for_another() -> None:
    said = [_candidate(0, DEAL.text.rstrip("."), 0.60)]
    assert not compose(
        asked("On what date did Meta's purchase of Manus close?"), said, [DEAL]
    ).chosen
    assert not compose(asked("When did Meta's purchase of Manus take effect?"), said, [DEAL]).chosen
    assert compose(asked("When did Meta say it would buy Manus?"), said, [DEAL]).chosen
    opens = _chunk(1, "ERNIE Bot", "On 31 August 2023 ERNIE Bot opened to the public in China.")
    started = [_candidate(0, opens.text.rstrip("."), 0.60)]
    assert compose(asked("When could the public start using ERNIE Bot?"), started, [opens]).chosen


MINERALS = _chunk(
    0, "China's graphite and antimony export controls",
    "## Graphite: announced 20 October 2023, effective 1 December 2023\n\n"
    "Licences became necessary for synthetic graphite.\n\n"
    "## Antimony: announced 15 August 2024, effective 15 September 2024\n\n"
    "Antimony goes into ammunition and flame retardants.\n\n"
    "## The Hong Kong listing (8 January 2026)\n",
)  # fmt: skip


def test_a_heading_that_dates_an_event_is_a_sentence_and_one_that_only_names_a_day_is_not() -> None:
    said = [s for _, s in passage_sentences([MINERALS])]
    assert "Graphite: announced 20 October 2023, effective 1 December 2023" in said
    assert "Antimony: announced 15 August 2024, effective 15 September 2024" in said
    assert not any("Hong Kong" in s for s in said)


def test_one_date_that_names_both_sides_does_not_answer_for_either_side() -> None:
    # The likeliest sentences for each side name both minerals, or neither, and give dates of
    # neither licensing; the title names both, so it tells neither side's sentences apart.
    want = asked(
        "Which export licensing took effect first, the one on graphite or the one on antimony, "
        "and on what dates?"
    )
    assert [sorted(s) for s in want.sides] == [["graphite"], ["antimony"]]
    shared = _candidate(
        0, "A fact sheet of 1 November 2025 said graphite and antimony licences would ease", 0.40
    )
    also = _candidate(
        0,
        "As of 30 November 2025 graphite and antimony exports remain under licence, and the ban "
        "is suspended until 27 November 2026",
        0.33,
    )
    neither = _candidate(
        0, "The announcement sat within new rules that took effect on 1 December 2024", 0.30
    )
    graphite = _candidate(0, "Graphite: announced 20 October 2023, effective 1 December 2023", 0.24)
    antimony = _candidate(
        0, "Antimony: announced 15 August 2024, effective 15 September 2024", 0.22
    )
    per_side = [[shared, also, neither, graphite], [shared, also, neither, antimony]]
    candidates = [shared, also, neither, graphite, antimony]
    said = " ".join(c.text for c in compose(want, candidates, [MINERALS], per_side=per_side).chosen)
    assert "effective 1 December 2023" in said and "15 September 2024" in said


def test_a_model_asked_about_is_missing_from_the_sources_not_a_wrong_premise() -> None:
    # "did DeepSeek V4 receive" puts the model where "did Tencent release" puts a maker; a
    # model the passages do not name makes the question unanswered, not falsely premised.
    index = _chunk(0, "The Meridian AI index", "The leaders on the Meridian AI index scored 50.")
    model = _chunk(1, "DeepSeek", "DeepSeek released V4 as a preview on 24 April 2026.")
    top = _candidate(0, index.text.rstrip("."), 0.4)
    question = "What score did DeepSeek V4 receive on the Meridian AI index?"
    composed = compose(asked(question), [top], [index, model])
    assert not composed.chosen and not composed.premise


ALLIANCE = _chunk(
    0, "The Harbour AI Alliance",
    "On 26 July 2025 the Harbour AI Alliance was proposed in Shanghai. Not confirmed: the Harbour "
    "AI Alliance's founding members, charter or formal launch date.",
)  # fmt: skip


def test_a_source_that_says_what_is_asked_is_not_confirmed_is_quoted_not_answered_around() -> None:
    proposed, unknown = (s.rstrip(".") for s in ALLIANCE.text.split(". "))
    question = asked("When was the Harbour AI Alliance formally launched?")
    first = [_candidate(0, unknown, 0.40), _candidate(0, proposed, 0.38)]
    composed = compose(question, first, [ALLIANCE])
    assert not composed.chosen and "Not confirmed: the Harbour" in composed.why
    # far less likely than the sentence that answers, it is no reason to decline
    later = [_candidate(0, proposed, 0.60), _candidate(0, unknown, 0.20)]
    assert compose(asked("When was the Harbour AI Alliance proposed?"), later, [ALLIANCE]).chosen


def test_a_span_the_question_writes_in_words_is_stated_in_digits() -> None:
    moratorium = _chunk(
        0, "State AI laws", "The House included a 10-year moratorium on state AI laws."
    )
    top = _candidate(0, moratorium.text.rstrip("."), 0.5)
    question = asked("Why did the House want a ten-year moratorium on state AI laws?")
    assert not compose(question, [top], [moratorium]).premise


def test_a_measure_the_sources_contradict_is_corrected_by_the_one_they_give() -> None:
    a800 = _chunk(
        0, "Nvidia's A800",
        "Distributor listings showed the A800's NVLink ran at 400 GB/s instead of the A100's "
        "600 GB/s.",
    )  # fmt: skip
    top = _candidate(0, a800.text.rstrip("."), 0.5)
    question = (
        "Nvidia's A800 had a faster 800 GB/s NVLink than the A100. How did it get past the rule?"
    )
    composed = compose(asked(question), [top], [a800])
    assert composed.premise == "800 GB/s" and composed.chosen == [top]


FAB = _chunk(
    0, "The Mate 60 Pro teardown",
    "In August 2023 the Mate 60 Pro shipped with a Kirin 9000S processor made by SMIC.",
)  # fmt: skip
FAB_QUESTION = "Which foundry fabricated the Kirin 9000S of the Mate 60 Pro despite sanctions?"


def test_a_likely_sentence_answers_though_its_passage_words_the_question_otherwise() -> None:
    # "foundry fabricated ... despite sanctions" is in none of the passage's words; the sentence is
    # still far likelier than any other to answer, so it does.
    sure = _candidate(0, FAB.text, 0.45)
    assert compose(asked(FAB_QUESTION), [sure], [FAB]).chosen == [sure]


def test_a_less_likely_sentence_whose_passage_words_little_of_the_question_does_not() -> None:
    unsure = _candidate(0, FAB.text, 0.30)
    composed = compose(asked(FAB_QUESTION), [unsure], [FAB])
    assert not composed.chosen and composed.why


LABELS = _chunk(
    0, "Labelling duties", "The labelling duties for providers took effect on 1 September 2025."
)
LAUNCH = _chunk(
    0, "Labelling rules", "The labelling rules for providers were launched on 14 March 2025."
)


def test_a_duty_starts_on_the_date_its_rule_takes_effect() -> None:
    took_effect = _candidate(0, LABELS.text.rstrip("."), 0.30)
    want = asked("From what date did providers have to start the labelling duties?")
    assert compose(want, [took_effect], [LABELS]).chosen == [took_effect]


def test_a_launch_does_not_say_when_a_rule_took_effect() -> None:
    launched = _candidate(0, LAUNCH.text.rstrip("."), 0.30)
    want = asked("When did the labelling rules for providers take effect?")
    assert not compose(want, [launched], [LAUNCH]).chosen


def test_a_list_item_keeps_a_label_that_names_what_it_is_about_and_drops_a_generic_one() -> None:
    chunk = _chunk(
        0, "High-bandwidth memory",
        "- **H100 (SXM):** 80 GB of HBM3 at about 3.35 TB/s.\n"
        "- **H200:** 141 GB of HBM3E at about 4.8 TB/s.\n"
        "- **Sizes.** Seven dense models from 0.5B to 72B parameters.\n",
    )  # fmt: skip
    assert [s for _, s in passage_sentences([chunk])] == [
        "H100 (SXM): 80 GB of HBM3 at about 3.35 TB/s",
        "H200: 141 GB of HBM3E at about 4.8 TB/s",
        "Seven dense models from 0.5B to 72B parameters",
    ]


def _section(n: int, heading: str, text: str) -> Chunk:
    title = "China's GPU designers: Moore Threads, MetaX and others"
    return Chunk(f"c{n}", text, f"doc{n}.md", title, f"{title} > {heading}", None, 0, len(text), 0)


def test_a_section_heading_tells_the_sides_apart_when_the_title_names_both() -> None:
    # Each company's listing is told under its own heading with "it": the title names both
    # companies, the heading only one.
    want = asked(
        "Moore Threads and MetaX both listed in December 2025. How much did each one rise on "
        "its first day of trading?"
    )
    assert [sorted(s) for s in want.sides] == [["threads"], ["metax"]]
    moore = _section(
        0, "Moore Threads (Beijing)",
        "It listed in December 2025. The shares closed their first day of trading up 425%.",
    )  # fmt: skip
    metax = _section(
        1, "MetaX (Shanghai)",
        "It listed in December 2025. The stock closed its first day of trading up about 693%.",
    )  # fmt: skip
    revenue = _section(2, "Results", "Moore Threads and MetaX reported revenue up 243% and 121%.")
    up_425 = _candidate(0, "The shares closed their first day of trading up 425%", 0.20)
    up_693 = _candidate(1, "The stock closed its first day of trading up about 693%", 0.18)
    both = _candidate(2, "Moore Threads and MetaX reported revenue up 243% and 121%", 0.30)
    per_side = [[both, up_693, up_425], [both, up_425, up_693]]
    candidates = [both, up_425, up_693]
    chunks = [moore, metax, revenue]
    said = " ".join(c.text for c in compose(want, candidates, chunks, per_side=per_side).chosen)
    assert "425%" in said and "693%" in said


def test_a_common_word_no_passage_holds_does_not_sink_a_passage_but_an_unknown_name_does() -> None:
    from assistant.selecting import Rarity, coverage
    from assistant.text import stem

    seen = "stargate deploying billion immediately away".split()
    rarity = Rarity({stem(w): 3 for w in seen}, 800)
    sentence = "Stargate is deploying $100 billion immediately"
    casual = asked("How much is Stargate deploying straight away?")  # 'straight' is in no passage
    assert coverage(casual, sentence, "", rarity) > 0.6  # only "away" is left to miss
    unknown = asked("How much is Stargate Zephyr deploying?")  # a name no passage holds
    assert coverage(unknown, sentence, "", rarity) < 0.7
    off_topic = asked("What is the recipe for a lemon tart?")  # no word of it in any passage
    assert coverage(off_topic, "The rule caps exports of lemon-sized chips", "", rarity) < 0.3
