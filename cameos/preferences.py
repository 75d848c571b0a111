"""Screening of an owner's free-text guidance and forbidden words.

The guidance is untrusted input (in the Sora app it was a prompt-injection hole): it may only describe the
owner's own appearance. It is screened here, and beyond that it is never concatenated into anyone's
prompt: generation passes it as data bound to this one cameo's identity, beside the requester's text, so
even a screened-in sentence cannot address the model about other people, other cameos or the prompt.
"""

import re
import unicodedata

from cameos.errors import CameoError
from core.exceptions import ApplicationError

GUIDANCE_MAX_CHARS = 300
FORBIDDEN_WORDS_MAX = 50
FORBIDDEN_WORD_MAX_CHARS = 40

# Phrases that address a model or other users instead of describing a person.
_INJECTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instruction|instructions|rules?|prompt|above|previous|everything)\b",
    r"\b(system|developer)\s+(prompt|message|instruction)s?\b",
    r"\byou\s+(are|must|will|should)\b",
    r"\b(act|behave|pretend)\s+as\b",
    r"\b(new|updated)\s+(instructions?|rules?)\b",
    r"\b(other|every|all|any)\s+(users?|people|persons?|cameos?|videos?|characters?|prompts?)\b",
    r"\b(jailbreak|DAN mode)\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.IGNORECASE | re.DOTALL)
# Markup, templating, mentions and links: none belongs in a description of someone's looks.
_MARKUP = re.compile(r"[<>{}\[\]`@#\\|]|https?://|www\.|\$\(", re.IGNORECASE)
_WORD = re.compile(rf"^[\w' -]{{1,{FORBIDDEN_WORD_MAX_CHARS}}}$")


def _refuse(reason: str, message: str) -> ApplicationError:
    return ApplicationError(CameoError.GUIDANCE_REJECTED, message, extra={"reason": reason})


def clean_guidance(text: str) -> str:
    """The guidance as stored: normalised, single-spaced, screened. Raises `guidance_rejected`."""
    text = unicodedata.normalize("NFKC", text)
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs"} and ch not in "\n\t" for ch in text):
        raise _refuse("control_characters", "The guidance contains invisible or control characters.")
    text = " ".join(text.split())
    if len(text) > GUIDANCE_MAX_CHARS:
        raise _refuse(
            "too_long", f"Keep the guidance under {GUIDANCE_MAX_CHARS} characters (got {len(text)})."
        )
    if _MARKUP.search(text):
        raise _refuse(
            "markup", "Describe your appearance in plain words: no links, mentions, tags or markup."
        )
    if _INJECTION.search(text):
        raise _refuse(
            "not_a_description",
            'Guidance may only describe how you look (e.g. "always wears a red scarf"), not give instructions.',
        )
    return text


def clean_forbidden_words(words: list[str]) -> list[str]:
    cleaned: list[str] = []
    for word in words:
        word = " ".join(unicodedata.normalize("NFKC", word).split()).lower()
        if not _WORD.match(word):
            raise ApplicationError(
                CameoError.INVALID_FORBIDDEN_WORD,
                f"Forbidden words are 1 to {FORBIDDEN_WORD_MAX_CHARS} letters, digits, spaces or apostrophes: {word!r}.",
            )
        if word not in cleaned:
            cleaned.append(word)
    if len(cleaned) > FORBIDDEN_WORDS_MAX:
        raise ApplicationError(
            CameoError.TOO_MANY_FORBIDDEN_WORDS, f"At most {FORBIDDEN_WORDS_MAX} forbidden words."
        )
    return cleaned
