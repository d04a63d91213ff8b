"""The stronger judges of a claim, asked only when every fact of it checks out: an NLI
cross-encoder, or the remote model the answers come from."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Iterator
from typing import Literal, Protocol

from assistant.errors import AssistantError
from assistant.generation import Capabilities
from assistant.records import Support
from assistant.settings import VerifySettings


class JudgeError(AssistantError):
    """A stronger judge (NLI model, remote model) could not be used."""


Verdict = Literal["entailed", "contradicted", "not stated"]


class Judge(Protocol):
    """A stronger judge, asked only when every fact of the claim checks out."""

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]: ...

    def decide(self, claim: str, span: str, support: Support) -> tuple[Support, str]: ...


class _Judge:
    name = "judge"

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]:
        raise NotImplementedError

    def decide(self, claim: str, span: str, support: Support) -> tuple[Support, str]:
        verdict, why = self.verdict(claim, span)
        if verdict == "contradicted":
            return "unsupported", why or f"{self.name}: the passage contradicts this"
        if verdict == "entailed":
            return "supported", ""
        if support == "supported":
            return "weak", why or f"{self.name}: the passage does not state this"
        return support, why


class NLIJudge(_Judge):
    """A sentence-transformers ``CrossEncoder`` trained for NLI (by name or folder), with the
    passage as premise and the claim as hypothesis."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(model, device=device)
        except (OSError, ValueError) as exc:
            raise JudgeError(
                f"Cannot load the NLI model {model!r} ({exc}). Set ASSISTANT_VERIFY__NLI_MODEL to "
                "a sentence-transformers CrossEncoder folder, or leave it empty."
            ) from None
        config = getattr(self.model, "config", None) or self.model.model.config
        labels = {int(i): str(v).lower() for i, v in config.id2label.items()}
        self.labels = [_label(labels.get(i, "")) for i in range(len(labels))]
        if "entailed" not in self.labels or "contradicted" not in self.labels:
            raise JudgeError(
                f"{model!r} does not name entailment and contradiction labels, so it is not an "
                "NLI model; choose a CrossEncoder trained on NLI (e.g. an MNLI/SNLI one)."
            )
        self.name = f"NLI model {model}"
        self._cache: dict[tuple[str, str], tuple[Verdict, str]] = {}

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]:
        key = (claim, span)
        if key not in self._cache:
            scores = self.model.predict([(span, claim)], apply_softmax=True)[0]
            best = max(range(len(self.labels)), key=lambda i: float(scores[i]))
            self._cache[key] = (self.labels[best], "")
        return self._cache[key]


def _label(name: str) -> Verdict:
    if name.startswith("entail"):
        return "entailed"
    if name.startswith("contradict"):
        return "contradicted"
    return "not stated"


class Generates(Protocol):
    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]: ...


class Remote(Generates, Protocol):
    capabilities: Capabilities


_JUDGE_PROMPT = (
    "You check one claim against one passage. Answer on one line: ENTAILED if the passage "
    "states the claim, CONTRADICTED if the passage says otherwise, NOT STATED if it says "
    "neither; then ' - ' and, unless ENTAILED, the fact that differs in a few words.\n\n"
    "Passage: {span}\n\nClaim: {claim}"
)
_JUDGE_CACHE = 4096


class ModelJudge(_Judge):
    """Asks a configured remote model whether the passage entails the claim; answers are
    cached, so a claim checked twice costs one call."""

    def __init__(self, model: Generates, name: str = "the remote model") -> None:
        self.model = model
        self.name = name
        self._cache: OrderedDict[tuple[str, str], tuple[Verdict, str]] = OrderedDict()

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]:
        key = (claim, span)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        prompt = _JUDGE_PROMPT.format(span=span, claim=claim)
        reply = "".join(self.model.stream([{"role": "user", "content": prompt}])).strip()
        head, _, why = reply.partition(" - ")
        word = head.strip().upper()
        verdict: Verdict = (
            "contradicted"
            if word.startswith("CONTRA")
            else "entailed"
            if word.startswith("ENTAIL")
            else "not stated"
        )
        self._cache[key] = (verdict, f"{self.name}: {why.strip()}" if why.strip() else "")
        if len(self._cache) > _JUDGE_CACHE:
            self._cache.popitem(last=False)
        return self._cache[key]


def make_judge(settings: VerifySettings, model: Remote | None, backend: str) -> Judge | None:
    """The stronger judge the settings ask for: an NLI cross-encoder when one is named, else the
    answering model when asked for and it runs on a server; none by default."""
    if settings.nli_model:
        return _nli_judge(settings.nli_model)
    if not settings.remote_judge or model is None:
        return None
    if model.capabilities.drafts and not model.capabilities.local:
        return ModelJudge(model, f"the {backend} model")
    return None


@functools.lru_cache(maxsize=2)
def _nli_judge(name: str) -> NLIJudge:
    return NLIJudge(name)
