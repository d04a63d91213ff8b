"""The claim check with the real bundled embedder on real passages of the corpus: a sentence with
a wrong figure, name, date, negation, role or comparison is caught and the reason says what
differs; the same statements in other words stay supported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chunking import chunk_document
from assistant.citing import check_answer
from assistant.embedding import Embedder
from assistant.generation import Capabilities, ExtractiveModel
from assistant.judging import JudgeError, ModelJudge, NLIJudge, make_judge
from assistant.loading import load
from assistant.records import Chunk, SentenceSupport
from assistant.settings import Settings, VerifySettings

REPO = Path(__file__).parent.parent
PARAPHRASES = REPO / "benchmarks" / "data" / "paraphrases.jsonl"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(Settings().embedding)


def passage(brief: str, words: str) -> Chunk:
    """The indexed passage of ``corpus/briefs/<brief>.md`` that holds ``words``."""
    settings = Settings()
    root = REPO / "corpus"
    doc = load(root / "briefs" / f"{brief}.md", root, settings.corpus)
    chunks = chunk_document(doc, settings.chunking)
    return next(c for c in chunks if words in c.text.replace("**", ""))


def checked(answer: str, chunks: list[Chunk], embedder: Embedder) -> list[SentenceSupport]:
    return check_answer(answer, chunks, embedder).sentences


def test_a_wrong_date_is_caught_and_the_reason_gives_the_right_one(embedder: Embedder) -> None:
    rules = passage("us-bis-advanced-computing-update-2023-10", "took effect on 17 November")
    right, wrong = checked(
        "The two interim final rules took effect on 17 November 2023 [1]. "
        "The two interim final rules took effect on 17 October 2023 [1].",
        [rules],
        embedder,
    )
    assert right.support == "supported"
    assert wrong.support == "unsupported"
    assert "17 November 2023" in wrong.reason and "not 17 October 2023" in wrong.reason


def test_a_figure_of_another_thing_in_the_same_sentence_is_caught(embedder: Embedder) -> None:
    overview = passage("us-export-controls-overview-2022-2025", "$4.5 billion charge")
    right, wrong = checked(
        "Nvidia took a $4.5 billion charge after the H20 licence rule [1]. "
        "Nvidia took a $5.5 billion charge after the H20 licence rule [1].",
        [overview],
        embedder,
    )
    assert right.support == "supported"
    assert wrong.support == "unsupported"
    assert "$4.5 billion" in wrong.reason and "$5.5 billion" in wrong.reason


def test_a_figure_the_passage_never_gives_is_caught(embedder: Embedder) -> None:
    yi = passage("01ai-yi-models", "about 3 trillion tokens")
    (sentence,) = checked(
        "Yi-6B and Yi-34B were trained from scratch on about 5 trillion tokens [1].", [yi], embedder
    )
    assert sentence.support == "unsupported"
    assert "not 5 trillion" in sentence.reason


def test_a_wrong_name_is_caught_and_named(embedder: Embedder) -> None:
    yi = passage("01ai-yi-models", "Hugging Face's Open LLM Leaderboard")
    right, wrong = checked(
        "01.AI said Yi-34B ranked first among open pre-trained models on Hugging Face's Open "
        "LLM Leaderboard [1]. Baidu said Yi-34B ranked first among open pre-trained models on "
        "Hugging Face's Open LLM Leaderboard [1].",
        [yi],
        embedder,
    )
    assert right.support == "supported"
    assert wrong.support == "unsupported"
    assert "Baidu" in wrong.reason


def test_the_bundled_models_wrong_r1_answer_is_rejected(embedder: Embedder) -> None:
    r1 = passage("deepseek-r1-2025-01", "DeepSeek released DeepSeek-R1")
    (sentence,) = checked(
        "The Chinese startup R1 released the R1 reasoning model in January 2025 [1].",
        [r1],
        embedder,
    )
    assert sentence.support == "unsupported"


def test_a_name_given_the_role_another_name_has_is_caught(embedder: Embedder) -> None:
    text = "DeepSeek, a Chinese start-up based in Hangzhou, released R1 in January 2025."
    startup = Chunk("r1", text, "r1.md", "R1", "", None, 0, len(text), 0)
    (sentence,) = checked(
        "The Chinese start-up R1 released R1 in January 2025 [1].", [startup], embedder
    )
    assert sentence.support == "unsupported"
    assert "DeepSeek" in sentence.reason and "not R1" in sentence.reason


def test_not_added_to_a_true_sentence_is_caught(embedder: Embedder) -> None:
    gallium = passage("china-gallium-germanium-export-controls-2023", "licences would not be")
    right, wrong = checked(
        "China said licences would not in principle be granted for gallium items going to the "
        "United States [1]. China said licences would in principle be granted for gallium "
        "items going to the United States [1].",
        [gallium],
        embedder,
    )
    assert right.support == "supported"
    assert wrong.support == "unsupported"
    assert "not" in wrong.reason


def test_countries_exchanged_are_caught(embedder: Embedder) -> None:
    truce = passage("us-china-geneva-tariff-truce-2025-05", "countermeasures it had taken")
    (sentence,) = checked(
        "The US would suspend the non-tariff countermeasures it had taken against China "
        "since 2 April 2025 [1].",
        [truce],
        embedder,
    )
    assert sentence.support == "unsupported"


def test_a_comparison_turned_round_is_caught(embedder: Embedder) -> None:
    hunyuan = passage("tencent-hunyuan", "more than 100 billion parameters")
    (sentence,) = checked(
        "Tencent said the model had fewer than 100 billion parameters [1].", [hunyuan], embedder
    )
    assert sentence.support == "unsupported"
    assert "'more', not 'fewer'" in sentence.reason


def test_paraphrases_of_corpus_sentences_stay_supported(embedder: Embedder) -> None:
    rows = [json.loads(line) for line in PARAPHRASES.read_text(encoding="utf-8").splitlines()]
    supported = 0
    for row in rows:
        home = passage(Path(row["source"]).stem, row["sentence"])
        (sentence,) = checked(row["paraphrase"].rstrip(".") + " [1].", [home], embedder)
        supported += sentence.support == "supported"
    assert len(rows) >= 60
    assert supported / len(rows) >= 0.93


def test_the_reason_reaches_the_answer_json(embedder: Embedder) -> None:
    rules = passage("us-bis-advanced-computing-update-2023-10", "took effect on 17 November")
    (sentence,) = checked(
        "The two interim final rules took effect on 17 October 2023 [1].", [rules], embedder
    )
    assert "17 November 2023" in json.dumps(sentence.to_dict())


class QueuedModel:
    """A model on a server (or, ``local``, on this machine) with one queued reply per call."""

    def __init__(self, *replies: str, local: bool = False) -> None:
        self.replies = list(replies)
        self.calls = 0
        self.capabilities = Capabilities(drafts=True, rewrites=not local, local=local)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        self.calls += 1
        return iter([self.replies.pop(0)])


def test_a_remote_judge_can_overrule_and_is_asked_once_per_claim(embedder: Embedder) -> None:
    rules = passage("us-bis-advanced-computing-update-2023-10", "took effect on 17 November")
    model = QueuedModel("CONTRADICTED - the rules were published, not withdrawn")
    judge = ModelJudge(model, "test model")
    claim = "The two interim final rules took effect on 17 November 2023 [1]."
    for _ in range(2):
        (sentence,) = check_answer(claim, [rules], embedder, judge=judge).sentences
        assert sentence.support == "unsupported"
        assert "test model" in sentence.reason and "not withdrawn" in sentence.reason
    assert model.calls == 1


def nli_folder(tmp: Path, winner: str) -> Path:
    """A real CrossEncoder folder whose head always picks ``winner`` (the bundled MiniLM body
    with a three-label NLI head, weights zeroed and the bias set)."""
    import torch
    from sentence_transformers import CrossEncoder

    from assistant.embedding import bundled_model_dir

    labels = ["contradiction", "entailment", "neutral"]
    model = CrossEncoder(str(bundled_model_dir()), num_labels=3)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: i for i, name in enumerate(labels)}
    head = model.model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([5.0 if name == winner else 0.0 for name in labels]))
    model.save(str(tmp / winner))
    return tmp / winner


def test_an_nli_cross_encoder_from_a_folder_judges_sentences(
    tmp_path: Path, embedder: Embedder
) -> None:
    rules = passage("us-bis-advanced-computing-update-2023-10", "took effect on 17 November")
    claim = "The two interim final rules took effect on 17 November 2023 [1]."
    judge = make_judge(
        VerifySettings(nli_model=str(nli_folder(tmp_path, "contradiction"))), None, ""
    )
    (sentence,) = check_answer(claim, [rules], embedder, judge=judge).sentences
    assert sentence.support == "unsupported"
    assert "NLI model" in sentence.reason and "contradicts" in sentence.reason


def test_a_model_without_nli_labels_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    from assistant.embedding import bundled_model_dir

    with pytest.raises(JudgeError, match="not an NLI model"):
        NLIJudge(str(bundled_model_dir()))


def test_no_stronger_judge_by_default() -> None:
    assert make_judge(VerifySettings(), QueuedModel(), "openai") is None
    local = QueuedModel(local=True)
    assert make_judge(VerifySettings(remote_judge=True), local, "llamacpp") is None
    assert make_judge(VerifySettings(remote_judge=True), ExtractiveModel(), "extractive") is None
    assert isinstance(
        make_judge(VerifySettings(remote_judge=True), QueuedModel(), "openai"), ModelJudge
    )
