"""The hand-written tables of words that name the same event, and what a count may be of."""

from __future__ import annotations

from assistant.synonyms import counted_as, measured_in, same_event
from assistant.text import stem


def test_event_words_are_alike_both_ways_in_any_form() -> None:
    assert stem("effective") in same_event("force") and stem("force") in same_event("effective")
    assert same_event("acquired") == same_event("purchase")
    assert same_event("zebra") == frozenset((stem("zebra"),))


def test_a_count_may_be_given_of_a_narrower_word_not_a_broader_one() -> None:
    assert stem("employees") in counted_as("people")
    assert stem("people") not in counted_as("employees")


def test_a_measure_is_spoken_of_by_a_value_in_its_unit() -> None:
    assert measured_in("speed", "The interconnect ran at 400 GB/s instead of 600 GB/s.")
    assert measured_in("power", "The system draws about 559 kW.")
    assert not measured_in("speed", "It carries 80 GB of memory.")
    assert not measured_in("memory", "It carries 80 GB of memory.")  # not a measure listed


def test_a_passage_that_renames_or_pauses_speaks_of_a_rebranding_or_a_freeze() -> None:
    from assistant.questions import asked
    from assistant.selecting import coverage

    rebrand = asked("When was the AI Safety Institute rebranded and the rule frozen?")
    said = "Commerce renamed the AI Safety Institute and paused the rule."
    assert coverage(rebrand, said, "", None) == 1.0
    assert coverage(rebrand, "Commerce published the AI Safety Institute's report.", "", None) < 0.8


def test_who_spoke_for_a_country_is_who_represented_it() -> None:
    assert same_event("spoke") == same_event("represented")
