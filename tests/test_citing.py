from __future__ import annotations

from assistant.citing import check_answer
from assistant.records import Chunk, text_fragment_link
from assistant.text import answer_sentences, split_sentences
from tests.conftest import HashEmbedder


def chunk(cid: str, text: str, url: str = "") -> Chunk:
    return Chunk(cid, text, f"{cid}.md", cid.title(), "", None, 100, 100 + len(text), 0, url=url)


CHUNKS = [
    chunk("rules", "Nvidia designed the A800 and H800 chips for China after the 2022 rule."),
    chunk(
        "minerals", "China required licences for gallium and germanium exports from 1 August 2023."
    ),
    chunk(
        "qwen",
        "Alibaba released Qwen2 in June 2024 under the Apache 2.0 licence.",
        "https://x.org/q",
    ),
]


def test_only_cited_sources_are_listed_and_renumbered_by_first_use() -> None:
    draft = (
        "Alibaba released Qwen2 in June 2024 [3]. Nvidia designed the A800 and H800 for China [1]."
    )
    checked = check_answer(draft, CHUNKS, HashEmbedder())
    assert [c.chunk.id for c in checked.citations] == ["qwen", "rules"]
    assert (
        checked.text == "Alibaba released Qwen2 in June 2024 [1]. "
        "Nvidia designed the A800 and H800 for China [2]."
    )
    assert [s.support for s in checked.sentences] == ["supported", "supported"]
    assert checked.removed == []


def test_a_marker_naming_no_source_is_removed_and_reported() -> None:
    checked = check_answer("Qwen2 came out in June 2024 [7].", CHUNKS, HashEmbedder())
    assert checked.removed == ["[7]"]
    assert "[7]" not in checked.text


def test_an_uncited_sentence_gets_the_supporting_source_attached() -> None:
    draft = "China required licences for gallium and germanium exports from 1 August 2023."
    checked = check_answer(draft, CHUNKS, HashEmbedder())
    assert checked.text.endswith("[1].")
    assert checked.citations[0].chunk.id == "minerals"
    assert "citation attached" in checked.sentences[0].reason


def test_wrong_numbers_and_unsourced_claims_are_unsupported() -> None:
    draft = (
        "China required licences for gallium exports from 1 August 2019 [2]. "
        "The moon is made of cheese."
    )
    sentences = check_answer(draft, CHUNKS, HashEmbedder()).sentences
    assert [s.support for s in sentences] == ["unsupported", "unsupported"]


def test_quotes_point_into_the_source_with_offsets_and_a_text_fragment_link() -> None:
    checked = check_answer("Alibaba released Qwen2 in June 2024 [3].", CHUNKS, HashEmbedder())
    cite = checked.citations[0]
    assert cite.quote_start == 100 and cite.quote_end == 100 + len(cite.quote)
    assert cite.link.startswith("https://x.org/q#:~:text=Alibaba%20released%20Qwen2")


def test_sentence_split_handles_bullets_and_headings() -> None:
    text = "## Heading\n- First point here. Second one.\n- Third point"
    assert split_sentences(text) == [
        "## Heading",
        "First point here.",
        "Second one.",
        "Third point",
    ]


def test_a_numbered_item_or_a_title_does_not_end_a_sentence() -> None:
    text = (
        "BIS listed approved designers (Supplement No. 6 to Part 740) and OSAT firms (Supplement "
        "No. 7). Dr. Lee agreed. The answer was no. Then the rule took effect."
    )
    assert split_sentences(text) == [
        "BIS listed approved designers (Supplement No. 6 to Part 740) and OSAT firms (Supplement "
        "No. 7).",
        "Dr. Lee agreed.",
        "The answer was no.",
        "Then the rule took effect.",
    ]


def test_a_clock_time_with_its_zone_does_not_end_a_sentence() -> None:
    text = "It applies from 12:01 a.m. EDT on 21 September 2025. They met at 9 a.m. Talks ran late."
    assert split_sentences(text) == [
        "It applies from 12:01 a.m. EDT on 21 September 2025.",
        "They met at 9 a.m.",
        "Talks ran late.",
    ]


def test_a_bill_number_does_not_end_a_sentence_but_an_initialism_at_the_end_does() -> None:
    text = "Biden signed it (H.R. 4346) on 9 August 2022. It passed in the U.S. Then, e.g. Qwen."
    assert split_sentences(text) == [
        "Biden signed it (H.R. 4346) on 9 August 2022.",
        "It passed in the U.S.",
        "Then, e.g. Qwen.",
    ]


def test_a_bold_lead_in_question_is_a_sentence_of_its_own() -> None:
    text = "**Did it pay off?** Sceptics said no. It rose 5%. **Next** came the rules."
    assert split_sentences(text) == [
        "**Did it pay off?",
        "Sceptics said no.",
        "It rose 5%.",
        "**Next** came the rules.",
    ]


def test_text_fragment_link_without_url_is_empty() -> None:
    assert text_fragment_link("", "words") == ""


def test_a_sentence_citing_two_passages_may_take_a_fact_from_each() -> None:
    draft = (
        "Nvidia designed the A800 for China after the 2022 rule, "
        "and Alibaba released Qwen2 in June 2024 [1][3]."
    )
    checked = check_answer(draft, CHUNKS, HashEmbedder())
    assert checked.sentences[0].support == "supported"
    assert {c.chunk.id for c in checked.citations} == {"rules", "qwen"}


def test_the_reason_of_a_wrong_figure_names_both_figures() -> None:
    draft = "China required licences for gallium and germanium exports from 1 August 2019 [2]."
    sentences = check_answer(draft, CHUNKS, HashEmbedder()).sentences
    assert sentences[0].support == "unsupported"
    assert "1 August 2023" in sentences[0].reason and "2019" in sentences[0].reason


def test_answer_sentences_that_start_in_lower_case_are_checked_one_by_one() -> None:
    draft = (
        "pre-training took 2,664K GPU hours [1]. post-training took 5K [1]. See e.g. the report."
    )
    assert answer_sentences(draft) == [
        "pre-training took 2,664K GPU hours [1].",
        "post-training took 5K [1].",
        "See e.g. the report.",
    ]
