"""A caption's mentions and hashtags, read from its text (pure: resolving usernames is the service's job)."""

import re
from dataclasses import dataclass

from feed.models import MAX_HASHTAGS, MAX_MENTIONS

# A mention is a username (accounts.models.username_validator) after '@' that is not inside a word or an
# e-mail address; a hashtag is letters, digits and underscores after '#', not all digits.
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})(?![\w@])")
HASHTAG_RE = re.compile(r"(?<![\w#&])#(\w{1,50})(?!\w)")


@dataclass(frozen=True)
class ParsedCaption:
    mentions: list[str]  # as written, case-insensitively unique, in order of first use
    hashtags: list[str]  # lower-cased, unique, in order of first use


def parse_caption(text: str) -> ParsedCaption:
    mentions: dict[str, str] = {}
    for match in MENTION_RE.finditer(text):
        mentions.setdefault(match.group(1).lower(), match.group(1))
    hashtags: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text):
        tag = match.group(1).lower()
        if not tag.isdigit():
            hashtags.setdefault(tag, None)
    return ParsedCaption(
        mentions=list(mentions.values())[:MAX_MENTIONS], hashtags=list(hashtags)[:MAX_HASHTAGS]
    )


@dataclass(frozen=True)
class CaptionPart:
    """A run of a caption's text as a page shows it: plain, a mention of a person it links to, or a tag."""

    text: str
    username: str = ""  # a mention of this (resolved, as registered) user
    hashtag: str = ""


def caption_parts(text: str, *, mentions: list[str]) -> list[CaptionPart]:
    """`text` cut into plain runs, mentions and hashtags. Only the usernames in `mentions` (those the
    caption's service resolved: active, not blocked with the author) become mentions; any other `@name`
    stays plain text."""
    resolved = {name.lower(): name for name in mentions}
    found = [(m.start(), m.end(), m.group(1), "") for m in MENTION_RE.finditer(text)]
    found += [(m.start(), m.end(), "", m.group(1)) for m in HASHTAG_RE.finditer(text)]
    parts, position = [], 0
    for start, end, mention, hashtag in sorted(found):
        if start > position:
            parts.append(CaptionPart(text[position:start]))
        if mention.lower() in resolved:
            parts.append(CaptionPart(text[start:end], username=resolved[mention.lower()]))
        elif hashtag and not hashtag.isdigit():
            parts.append(CaptionPart(text[start:end], hashtag=hashtag.lower()))
        else:
            parts.append(CaptionPart(text[start:end]))
        position = end
    if position < len(text):
        parts.append(CaptionPart(text[position:]))
    return parts
