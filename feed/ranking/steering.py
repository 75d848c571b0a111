"""A viewer's steering text, read into what to see more of and what to see less of.

The parse is deliberately simple, so a viewer can predict it:

1. The text is cut into clauses at commas, semicolons, line breaks and the words "and" and "but".
2. A clause that starts with "more" asks for more of the rest of it; one that starts with "less", "fewer"
   or "no" asks for less. "of" after that word is dropped ("more of cats" is "cats").
3. A clause without such a word goes the way of the clause before it ("less sports and politics": less of
   both); the first one, "more".
4. Terms are lower-cased, stripped of punctuation at their ends, kept once, at most `MAX_TERMS` in all.

"more animals, less sports" → more ["animals"], less ["sports"]."""

import re
from dataclasses import dataclass

MAX_TERMS = 8
MAX_TERM_CHARS = 60

_CLAUSE_BREAK = re.compile(r"[,;\n]|\band\b|\bbut\b", re.IGNORECASE)
_MORE_WORDS = frozenset({"more"})
_LESS_WORDS = frozenset({"less", "fewer", "no"})
_TRIM = " \t\r.!?\"'()[]{}:-"


@dataclass(frozen=True)
class Steering:
    more: tuple[str, ...]
    less: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.more and not self.less


def parse_steering(text: str) -> Steering:
    more: list[str] = []
    less: list[str] = []
    wants_more = True
    for clause in _CLAUSE_BREAK.split(text):
        words = clause.split()
        if words and words[0].lower() in _MORE_WORDS | _LESS_WORDS:
            wants_more = words[0].lower() in _MORE_WORDS
            words = words[1:]
            if words and words[0].lower() == "of":
                words = words[1:]
        term = " ".join(words).strip(_TRIM).lower()[:MAX_TERM_CHARS].strip(_TRIM)
        if not term or term in more or term in less or len(more) + len(less) >= MAX_TERMS:
            continue
        (more if wants_more else less).append(term)
    return Steering(more=tuple(more), less=tuple(less))
