"""The evaluation gate: retrieval and answers on the development question set must not get
worse. Answers are gated with the extractive backend (no model: fast and deterministic); the
bundled model's answers go through the same composing path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, Settings
from assistant.evaluation import evaluate, load_questions
from tests.conftest import REPO

# Measured when the gate was set: recall@5 0.957 over the first 82 questions and 67 briefs. The
# corpus has since grown to 104 briefs and the set to 194 questions (follow-ups, recent events):
# 0.929 over all 169 answerable questions, 0.943 over the first 70. Raise it when retrieval
# improves; never lower it without saying why.
RECALL_AT_5_FLOOR = 0.92
ABSTENTION_FLOOR = 0.90
# Answers (extractive, sentences chosen by the fitted selector), measured over 678 questions:
# 0.785 right over all 557 answerable ones, 73 of the 108 on-topic unanswerable questions
# declined, 0.894 abstention accuracy overall, 78 of 98 false premises corrected (with the right
# fact), 36 answerable questions wrongly declined (0.065), and two true premises taken for false
# ones. The set had just gained 72 held-out questions written afresh by helpers who had not seen
# the code (ho6): 0.72 right, 5 of their 12 on-topic unanswerables declined. The declined floor
# went from 0.71 to 0.66 in two steps, each said: ho6's unanswerables (6 of 12 declined) joined
# the set, then words that no passage holds stopped counting against every passage (6 more
# right, 4 of them held out, 9 fewer wrongly declined; 2 on-topic unanswerables answered, one of
# them held out). Each floor is about one question below the figure, for a machine whose CPU
# rounds the embeddings otherwise.
ANSWER_RIGHT_FLOOR = 0.78
ON_TOPIC_ABSTAINED_FLOOR = 0.66
ANSWER_ABSTENTION_FLOOR = 0.89
PREMISES_CORRECTED_FLOOR = 0.78
WRONGLY_DECLINED_CEILING = 0.067
FALSE_CORRECTIONS_CEILING = 2

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def corpus_bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = Settings(
        corpus={"path": Path("corpus")},  # type: ignore[arg-type]
        index={"path": tmp_path_factory.mktemp("gate") / "index"},  # type: ignore[arg-type]
        llm={"backend": "extractive"},  # type: ignore[arg-type]
    )
    bot = Assistant(settings)
    report = bot.index(corpus=REPO / "corpus")
    assert report.exit_code == 0, report.failed
    return bot


@pytest.fixture(scope="module")
def result(corpus_bot: Assistant) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        questions = load_questions(REPO / "tests/data/dev_qa.jsonl")
        assert len(questions) >= 60 and sum(q.unanswerable for q in questions) >= 10
        return evaluate(corpus_bot, questions, backend="extractive")


def on_topic_unanswerable() -> set[str]:
    """Questions written as on-topic but unanswerable (their kind says so); the others marked
    unanswerable are off topic (a football final) and retrieval itself must decline them."""
    questions = load_questions(REPO / "tests/data/dev_qa.jsonl")
    return {q.id for q in questions if q.unanswerable and q.kind == "unanswerable"}


def test_retrieval_recall_at_5_stays_above_the_gate(result: dict[str, Any]) -> None:
    assert result["retrieval"]["recall@5"] >= RECALL_AT_5_FLOOR, result["retrieval"]
    # Retrieval can only decline what is off topic: the on-topic unanswerable questions (kind
    # unanswerable) are meant to find relevant passages and are declined by the answer (gated
    # below).
    rows = [q for q in result["questions"] if q["id"] not in on_topic_unanswerable()]
    right = sum(q["relevant"] != q["unanswerable"] for q in rows) / len(rows)
    assert right >= ABSTENTION_FLOOR, [q["id"] for q in rows if q["relevant"] == q["unanswerable"]]


def test_answers_stay_right_and_decline_what_the_sources_do_not_say(
    result: dict[str, Any],
) -> None:
    answers = result["answers"]
    assert answers["answer_contains_pattern"] >= ANSWER_RIGHT_FLOOR, answers
    assert answers["abstention_accuracy"] >= ANSWER_ABSTENTION_FLOOR, answers
    on_topic = [q for q in result["questions"] if q["id"] in on_topic_unanswerable()]
    declined = sum(q["abstained"] for q in on_topic) / len(on_topic)
    assert declined >= ON_TOPIC_ABSTAINED_FLOOR, [q["id"] for q in on_topic if not q["abstained"]]


def test_false_premises_are_corrected_and_true_ones_are_left_alone(
    result: dict[str, Any],
) -> None:
    answerable = [q for q in result["questions"] if not q["unanswerable"]]
    premises = [q for q in answerable if q["kind"] == "false_premise"]
    corrected = sum(bool(q["answer_matches"]) for q in premises) / len(premises)
    assert corrected >= PREMISES_CORRECTED_FLOOR, [q["answer"] for q in premises]
    wrongly = [
        q["id"] for q in answerable
        if q["kind"] != "false_premise" and "premise does not match" in q["answer"]
    ]  # fmt: skip
    assert len(wrongly) <= FALSE_CORRECTIONS_CEILING, wrongly
    declined = [q["id"] for q in answerable if q["abstained"]]
    assert len(declined) / len(answerable) <= WRONGLY_DECLINED_CEILING, declined
