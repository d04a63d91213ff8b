"""Sanitizing: the text of a document is data, never a command.

``is_instruction`` finds a sentence that gives orders to the assistant reading it, in English,
French, Spanish, Portuguese, Italian, German, Russian, Chinese, Japanese or Korean. It looks for
the shapes such orders take rather than for fixed phrases: a verb telling the reader to set
aside its guidance (ignore, oublie, 忽略…) aimed at instructions or rules; a verb dictating the
reply (reply, répondez, 只回复…) in the imperative, aimed at a fixed token, a quote or "only";
a new role (you are now, ahora eres, 你现在是…); a message addressed to an AI or to its prompt.
Expository prose about the AI race has none of these, so the curated briefs pass untouched.

``unlink`` reduces Markdown links to their words and ``safe_url`` keeps only web addresses, so
a passage can never turn into a clickable link to an arbitrary place.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

REMOVED = "[instruction removed]"

_F = re.IGNORECASE | re.UNICODE
# Where an imperative stands: the start of a clause, or after a word that leads into one.
_LEAD = r"(?:^|[,;:.!?—–(\"“«'/]\s*|\b(?:and|then|now|instead|please|just|simply|also|so)\s+)"
_CAPS = r"(?-i:\b[A-Z][A-Z0-9_]{2,}\b)"  # a fixed token to echo, such as PWNED
_QUOTE = r"[\"“«„「『'‘]"
_WORDS = r"(?:[\w'-]+\s+){0,4}?"
_EN_GUIDANCE = (
    r"(?:instructions?|directions?|directives?|rules?|prompts?|guidelines?|orders?|context)"
)
_OVERRIDE = re.compile(
    rf"{_LEAD}(?:ignore|disregard|forget|override|bypass|discard|set\s+aside)\s+{_WORDS}"
    rf"{_EN_GUIDANCE}\b"
    r"|\b(?:ignore|disregard|forget|override)\s+(?:the\s+|your\s+|my\s+)?(?:previous|prior|above|"
    rf"earlier|preceding|foregoing|all|any|every|system|original)\b\s+{_WORDS}{_EN_GUIDANCE}\b"
    rf"|\b(?:ignorez|ignore|oubliez|oublie|ne\s+tenez\s+pas\s+compte\s+de)\s+{_WORDS}"
    r"(?:instructions|consignes|règles|directives)\b"
    rf"|\b(?:ignora|ignorad|ignore|olvida|olvide|olvidad|haz\s+caso\s+omiso\s+de)\s+{_WORDS}"
    r"(?:instrucciones|reglas|indicaciones|órdenes)\b"
    rf"|\b(?:ignore|ignora|esqueça|esqueca)\s+{_WORDS}(?:instruções|instrucoes|regras)\b"
    rf"|\b(?:ignora|ignorate|dimentica|dimenticate)\s+{_WORDS}(?:istruzioni|regole)\b"
    rf"|\b(?:ignoriere|ignorieren\s+sie|vergiss|vergessen\s+sie|missachte)\s+{_WORDS}"
    r"(?:anweisungen|regeln|vorgaben|befehle|anordnungen|richtlinien)\b"
    rf"|(?:игнорируй(?:те)?|забудь(?:те)?|не\s+обращай(?:те)?\s+внимания\s+на)\s+{_WORDS}"
    r"(?:инструкци|указани|правил|команд)\w*"
    r"|(?:忽略|忽视|無視|无视|忘记|忘掉|不要理会|不要遵守|放弃)[^。！？]{0,12}?"
    r"(?:指令|指示|说明|說明|规则|規則|提示|要求|命令|设定|設定)"
    r"|(?:指示|命令|指令|ルール)[^。！？]{0,8}?(?:無視|忘れ)"
    r"|(?:지시|지침|명령|규칙)[^.!?]{0,10}?(?:무시|잊)",
    _F,
)
# A dictated reply: a verb of answering, in the imperative, aimed at a fixed token or "only".
_DICTATE = re.compile(
    rf"{_LEAD}(?:reply|respond|answer|say|output|print|write|repeat)\s*(?:back\s+)?"
    r"(?:with\s+|[:：]\s*)?(?:the\s+(?:word|phrase|text)\s+)?"
    rf"(?:{_QUOTE}|{_CAPS}|\b(?:only|exactly|solely|just)\b)"
    r"|\b(?:répond(?:ez|s)|dites|écrivez|écris|affichez|répétez|répète|"
    r"responde|responda|respondan|contesta|conteste|diga|escribe|escriba|repite|repita|"
    r"rispondi|rispondete|scrivi|ripeti|"
    r"antworte|antwortet|antworten\s+sie|sag|sage|sagen\s+sie|schreibe|schreiben\s+sie|"
    r"ответь(?:те)?|отвечай(?:те)?|напиши(?:те)?|скажи(?:те)?|выведи(?:те)?|повтори(?:те)?)\b"
    rf"\s*(?:\S+\s+){{0,3}}?(?:[:：]\s*)?(?:{_QUOTE}|{_CAPS}|\b(?:uniquement|seulement|"
    r"simplement|juste|solo|sólo|solamente|únicamente|apenas|soltanto|nur|lediglich|только|"
    r"лишь)\b)"
    r"|(?:只|仅|僅|请|請|务必|務必)(?:需|要|能)?(?:回复|回覆|回答|答复|输出|輸出|打印)"
    rf"|(?:回复|回覆|回答|输出|輸出|说|說|写|寫)[:：]?\s*[「“\"]?{_CAPS}"
    r"|(?:と|とだけ)(?:答え|返答|回答|出力|書い)(?:て|なさい|ろ|よ)"
    r"|(?:라고|이라고)(?:만)?\s*(?:답하|대답하|출력하|말하)",
    _F,
)
# A new role, or a new set of orders, for the reader.
_ROLE = re.compile(
    r"\byou\s+are\s+(?:now|no\s+longer|henceforth)\b"
    r"|\bfrom\s+now\s+on,?\s+(?:you|your|answer|reply|respond|always|only|never)\b"
    r"|\b(?:act|behave)\s+as\s+(?:if\s+you\b|an?\s+(?:unrestricted|different|new|evil)\b)"
    r"|\bpretend\s+(?:to\s+be|you\b|that\s+you\b)|\brole-?play\s+as\b|\bnew\s+instructions\b"
    r"|\byour\s+(?:new\s+)?(?:task|role|job|goal|instructions?)\s+(?:is|are|now)\b"
    r"|\b(?:tu\s+es|vous\s+êtes)\s+(?:maintenant|désormais|dorénavant)\b"
    r"|\b(?:à\s+partir\s+de\s+maintenant|désormais),?\s+(?:tu|vous|réponds|répondez)\b"
    r"|\bfai(?:s|tes)\s+semblant\b|\bagi(?:s|ssez)\s+comme\b|\bnouvelles\s+(?:instructions|consignes)\b"
    r"|\bahora\s+eres\b|\ba\s+partir\s+de\s+ahora,?\s+(?:eres|tú|usted|responde|responda)\b"
    r"|\bfinge\s+(?:ser|que)\b|\bactúa\s+como\b|\bnuevas\s+instrucciones\b|\bagora\s+você\s+é\b"
    r"|\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort)\b"
    r"|\b(?:ab\s+jetzt|von\s+nun\s+an),?\s+(?:bist\s+du|du|antworte|sagst)\b"
    r"|\btu\s+so,?\s+als\b|\bneue\s+anweisungen\b"
    r"|\bтеперь\s+ты\b|\bс\s+этого\s+момента,?\s+(?:ты|вы|отвечай)|\bпритворись\b"
    r"|\bдействуй\s+как\b|\bновые\s+инструкции\b"
    r"|你现在是|你現在是|你现在扮演|从现在(?:开始|起)[，,]?(?:你|只|请)|扮演一个|假装你|新的指令"
    r"|あなたは今から|今からあなたは|これからあなたは|지금부터\s*(?:너는|당신은)|이제\s*(?:너는|당신은)",
    _F,
)
_AI = r"(?:ai|assistant|chatbot|llm|language\s+model|model|bot)s?"
# A message addressed to an AI, or about its hidden prompt.
_ADDRESS = re.compile(
    rf"\b(?:dear|attention|note\s+to|hey|hello|message\s+to)\s+(?:the\s+|any\s+|all\s+)?{_AI}\b"
    rf"|\bif\s+you\s+are\s+an?\s+{_AI}\b|\b(?:any|every)\s+{_AI}\s+reading\b"
    r"|\bas\s+an\s+ai\b(?:\s+\w+){0,3}\s+(?:you|must|should)\b"
    r"|\b(?:system|developer|hidden)\s+(?:prompt|message|instructions?)\b|\bsystem-prompt\b"
    r"|\bjailbreak\b|\b(?:developer|god|dan)\s+mode\b|\bprompt\s+(?:système|del\s+sistema)\b"
    r"|\bsystemanweisung\w*|\bсистемн\w+\s+(?:промпт|подсказк|инструкци)\w*"
    r"|\bsi\s+(?:tu\s+es|vous\s+êtes)\s+une?\s+(?:ia|intelligence|assistant)\b|\bchère\s+ia\b"
    r"|\bsi\s+eres\s+una?\s+(?:ia|asistente)\b|\bwenn\s+du\s+eine\s+ki\s+bist\b|\bliebe\s+ki\b"
    r"|\bесли\s+ты\s+(?:ии|бот|ассистент|нейросеть)\b"
    r"|系统提示|系統提示|如果你是(?:一个)?(?:AI|人工智能|语言模型|助手|机器人)|システムプロンプト"
    r"|\byour\s+(?:answer|reply|response|output)\s+(?:must|should|shall|will|has\s+to)\s+"
    r"(?:be|only|contain|include|start|begin|end)\b"
    r"|\b(?:votre|ta)\s+réponse\s+(?:doit|devra)\b|\btu\s+respuesta\s+debe\b"
    r"|\b(?:deine|ihre)\s+antwort\s+(?:muss|soll)\b|\bтвой\s+ответ\s+должен\b"
    r"|你的(?:回答|回复)(?:必须|应该|只能)",
    _F,
)
# Orders that send the user somewhere: a link or a login page.
_LURE = re.compile(
    r"\b(?:tell|ask|direct|send|redirect|urge|invite|instruct)\s+(?:the\s+)?(?:user|reader|"
    r"visitor|customer)s?\s+to\b"
    rf"|{_LEAD}(?:visit|click|go\s+to|log\s*in\s+at|sign\s+in\s+at|download\s+from)\s+"
    r"(?:\S+\s+){0,3}?(?:https?://|www\.|\[)",
    _F,
)
_PATTERNS = (_OVERRIDE, _DICTATE, _ROLE, _ADDRESS, _LURE)
_CJK_CLAUSE = re.compile(r"(?<=[。！？；])")

_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^)\n]*\))*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:[a-z][a-z0-9+.-]*:|www\.)[^>\s]*)>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# An absolute path on the server: starts at "/" that follows no word, dot, colon or slash (so
# the "//" of a URL is left alone), and runs to a space, quote or closing bracket.
_SERVER_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`<>()]+/)*([^\s/'\"`<>(),;]+)")


def is_instruction(sentence: str) -> bool:
    """True when ``sentence`` gives orders to the assistant (or its user) rather than facts."""
    return any(pattern.search(sentence) for pattern in _PATTERNS)


def unlink(text: str) -> str:
    """``text`` with Markdown links and images reduced to their words, link targets dropped."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_DEF.sub("", text)
    return _AUTOLINK.sub(r"\1", text)


def neutralise(sentence: str) -> str:
    """One sentence as it may be shown to a model: an instruction is replaced whole (in a run of
    Chinese or Japanese clauses, only the clause that gives it), links lose their targets."""
    if not is_instruction(sentence):
        return unlink(sentence)
    clauses = [c for c in _CJK_CLAUSE.split(sentence) if c.strip()]
    if len(clauses) < 2:
        return REMOVED
    return "".join(REMOVED if is_instruction(c) else unlink(c) for c in clauses)


def safe_sentences(text: str) -> list[str]:
    """The sentences of a passage that state something: instructions dropped, links unlinked."""
    from assistant.text import split_sentences

    return [unlink(s) for s in split_sentences(text) if not is_instruction(s)]


def safe_url(url: str) -> str:
    """``url`` when it is a web address (http or https, with a host), else ""."""
    value = url.strip()
    if _CONTROL.search(value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


def scrub_paths(message: str) -> str:
    """``message`` with every absolute server path cut to its last part (``/srv/app/index`` →
    ``index``), so an error shown to a web or API user does not map the server's folders."""
    return _SERVER_PATH.sub(r"\1", message)


def web_links(record: dict[str, Any]) -> dict[str, Any]:
    """A citation or hit as a dict, its ``url`` and ``link`` blanked unless they are web
    addresses (a document's front matter may say ``javascript:`` or ``file:``)."""
    for key in ("url", "link"):
        if key in record:
            record[key] = safe_url(str(record[key]))
    return record
