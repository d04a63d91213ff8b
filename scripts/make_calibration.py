"""Writes assistant/calibration.json, the text the openvino-int8 backend is calibrated on: passages
sampled from the project's own briefs (as they are embedded, title and heading included) and
questions written for the project. Run it again after changing the chunker; the quantised model
is keyed by this file, so it is made anew on next use.

    python scripts/make_calibration.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from assistant.chunking import chunk_document, embedding_text
from assistant.loading import load, scan
from assistant.settings import ChunkingSettings, CorpusSettings

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Which companies build AI accelerators in China?",
    "what did the october 2022 rule restrict",
    "How much high-bandwidth memory does a modern AI chip carry?",
    "Who trains the GLM family of models?",
    "When were open weights of the first Qwen model published?",
    "export licence requirements for advanced GPUs",
    "Why did car makers run short of chips in 2021?",
    "Which Dutch company makes EUV lithography machines?",
    "How did markets react to a cheap Chinese reasoning model?",
    "state funding for domestic semiconductor manufacturing",
    "What rules govern generative AI services in China?",
    "Is there a licence exception for low-performance chips?",
    "How large is the mixture-of-experts model and how many parameters are active?",
    "Which memory makers are on the entity list?",
    "price cuts for LLM APIs",
    "Where is TSMC building fabs outside Taiwan?",
    "What threshold of total processing performance triggers the control?",
    "Does the corpus say anything about quantum computing?",
    "minerals China restricted in response",
    "Who founded the lab behind the R1 model?",
    "compare the H20 with the H100",
    "What is a foundry due diligence rule?",
    "talent moving between US and Chinese AI labs",
    "What did the Bletchley declaration commit to?",
    "How were chips smuggled around the controls?",
    "data centre build-out in western provinces",
    "Tell me about Kimi.",
    "What changed in the 2024 update on semiconductor equipment?",
    "open source model downloads on Hugging Face",
    "Which process node did SMIC use for the latest phone processor?",
    "labels on AI generated content",
    "What is the diffusion framework and which countries are in tier one?",
]


def main() -> None:
    corpus, settings = REPO / "corpus", CorpusSettings()
    texts = [
        embedding_text(chunk)
        for path in scan(corpus, settings)
        for chunk in chunk_document(load(path, corpus, settings), ChunkingSettings())
    ]
    passages = random.Random(2026).sample(texts, 96)
    target = REPO / "assistant" / "calibration.json"
    data = {"passages": passages, "questions": QUESTIONS}
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target}: {len(passages)} passages, {len(QUESTIONS)} questions")


if __name__ == "__main__":
    main()
