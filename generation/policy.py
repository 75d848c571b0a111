"""Content policy for prompts and for what a generated video says: which topics a text touches, and the
platform's refusals. Pure Python (no models), so the same rules judge a prompt before any compute and the
speech recognised in a finished video.

Two kinds of topics:

* platform refusals, never generated for anyone: sexual content, minors, gore, self-harm, hate;
* topics an owner may rule out for their cameo (``cameos.models.RestrictionCategory``): political, violence,
  romance, alcohol and drugs, religion, advertising, horror, mockery.

Matching is by whole words on a normalised text (NFKC, lower case, accents kept, leetspeak digits mapped),
with stems so "kissing" and "kisses" hit "kiss". It is a first line, cheap enough to run on every request; a
classifier model can take its place behind ``topics_in`` without changing any caller.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from generation.errors import GenerationError

# Platform refusals, most severe first: the first one found is the one reported.
MINORS = "minors"
SEXUAL = "sexual"
GORE = "gore"
SELF_HARM = "self_harm"
HATE = "hate"
PLATFORM_REFUSALS = (MINORS, SEXUAL, GORE, SELF_HARM, HATE)

_STEM_SUFFIX = r"(?:s|es|ed|d|ing|er|ers|y|ies)?"


def _words(*stems: str) -> str:
    return r"\b(?:" + "|".join(stems) + r")" + _STEM_SUFFIX + r"\b"


_LEXICON: dict[str, str] = {
    MINORS: "|".join(
        (
            _words(
                "child",
                "children",
                "kid",
                "kiddo",
                "baby",
                "babies",
                "toddler",
                "infant",
                "minors",
                "underage",
                "under-age",
                "preteen",
                "pre-teen",
                "teen",
                "teenager",
                "schoolgirl",
                "schoolboy",
                "schoolchild",
                "newborn",
                "juvenile",
                "boy scout",
                "girl scout",
                "kindergartner",
            ),
            r"\b(?:little|young|small)\s+(?:girl|boy)s?\b",
            # "a 12 year old", "aged 9", "9-year-old": any age under 18 written out in digits
            r"\b(?:[1-9]|1[0-7])\s*[- ]?\s*(?:years?|yrs?|yo)\b(?:[- ]?old)?",
            r"\baged?\s+(?:[1-9]|1[0-7])\b",
        )
    ),
    SEXUAL: "|".join(
        (
            _words(
                "nude",
                "nudity",
                "naked",
                "nsfw",
                "sex",
                "sexual",
                "sexually",
                "sexy",
                "porn",
                "porno",
                "pornographic",
                "erotic",
                "erotica",
                "topless",
                "bottomless",
                "undress",
                "lingerie",
                "orgasm",
                "fetish",
                "intercourse",
                "genital",
                "genitals",
                "boob",
                "nipple",
                "onlyfans",
                "stripper",
                "striptease",
                "xxx",
                "hentai",
                "masturbat",
                "horny",
                "seduce",
            ),
            r"\bmaking\s+love\b",
            r"\b(?:take|takes|taking|took)\s+(?:off\s+)?(?:(?:his|her|their|your|my)\s+)?clothes\s*(?:off)?\b",
        )
    ),
    GORE: "|".join(
        (
            _words(
                "gore",
                "gory",
                "decapitat",
                "beheading",
                "behead",
                "dismember",
                "mutilat",
                "disembowel",
                "eviscerat",
                "entrails",
                "torture",
                "massacre",
                "corpse",
            ),
            r"\bblood\s*(?:bath|soaked|spatter|splatter)\b",
        )
    ),
    SELF_HARM: "|".join(
        (
            _words("suicide", "suicidal", "self-harm", "self harm", "selfharm", "overdose"),
            r"\bkill(?:s|ing)?\s+(?:him|her|them|my|your)sel(?:f|ves)\b",
            r"\b(?:cut|cuts|cutting)\s+(?:his|her|their|my)\s+wrists?\b",
            r"\bhang(?:s|ing)?\s+(?:him|her|them)sel(?:f|ves)\b",
        )
    ),
    HATE: "|".join(
        (
            _words("nazi", "neo-nazi", "kkk", "swastika", "genocide", "white power", "ethnic cleansing"),
            r"\bheil\s+hitler\b",
        )
    ),
    # Owner-restrictable topics (cameos.models.RestrictionCategory values).
    "political": _words(
        "politic",
        "political",
        "politician",
        "election",
        "elect",
        "vote",
        "voting",
        "ballot",
        "campaign",
        "president",
        "presidential",
        "senator",
        "congress",
        "parliament",
        "prime minister",
        "democrat",
        "republican",
        "protest",
        "propaganda",
        "government",
        "candidate",
    ),
    "violence": _words(
        "fight",
        "fought",
        "punch",
        "shoot",
        "shot dead",
        "gun",
        "gunfire",
        "rifle",
        "pistol",
        "kill",
        "murder",
        "stab",
        "attack",
        "assault",
        "war",
        "warfare",
        "explosion",
        "explode",
        "bomb",
        "weapon",
        "sword",
        "knife",
        "brawl",
        "beat up",
        "violent",
        "violence",
        "wound",
        "bleed",
    ),
    "romance": _words(
        "kiss",
        "romance",
        "romantic",
        "date",
        "dating",
        "flirt",
        "wedding",
        "marry",
        "married",
        "boyfriend",
        "girlfriend",
        "lover",
        "cuddle",
        "honeymoon",
        "valentine",
        "in love",
        "make out",
    ),
    "alcohol_drugs": _words(
        "alcohol",
        "alcoholic",
        "beer",
        "wine",
        "vodka",
        "whiskey",
        "whisky",
        "tequila",
        "cocktail",
        "drunk",
        "booze",
        "weed",
        "marijuana",
        "cannabis",
        "cocaine",
        "heroin",
        "meth",
        "drug",
        "stoned",
        "cigarette",
        "smoking",
        "vape",
    ),
    "religion": _words(
        "religion",
        "religious",
        "church",
        "mosque",
        "synagogue",
        "temple",
        "pray",
        "prayer",
        "god",
        "jesus",
        "allah",
        "buddha",
        "bible",
        "quran",
        "koran",
        "torah",
        "priest",
        "imam",
        "rabbi",
        "monk",
        "worship",
    ),
    "advertising": _words(
        "advert",
        "advertise",
        "advertisement",
        "ad campaign",
        "commercial",
        "sponsor",
        "sponsored",
        "endorse",
        "endorsement",
        "promo",
        "promote",
        "promotion",
        "discount",
        "coupon",
        "buy now",
        "brand deal",
        "product placement",
    ),
    "horror": _words(
        "horror",
        "zombie",
        "monster",
        "haunted",
        "haunt",
        "ghost",
        "demon",
        "possessed",
        "creepy",
        "terrifying",
        "slasher",
        "vampire",
        "werewolf",
        "nightmare",
    ),
    "mockery": _words(
        "mock",
        "ridicule",
        "humiliate",
        "humiliation",
        "make fun of",
        "laugh at",
        "embarrass",
        "embarrassing",
        "roast",
        "idiot",
        "stupid",
        "moron",
        "loser",
        "clown",
        "pathetic",
    ),
}
_PATTERNS = {topic: re.compile(pattern, re.IGNORECASE) for topic, pattern in _LEXICON.items()}

# Digits and symbols people use to get words past a filter ("s3x", "n@ked").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_WORD = re.compile(r"\b[\w@$]*[a-z][\w@$]*\b")

# People the platform will not depict without their own verified cameo. Heads of state, the most famous
# living figures; staff extend the list through the protected-likeness gallery (its names are checked too).
PUBLIC_FIGURES = (
    "Joe Biden",
    "Donald Trump",
    "Kamala Harris",
    "Barack Obama",
    "Vladimir Putin",
    "Xi Jinping",
    "Volodymyr Zelensky",
    "Emmanuel Macron",
    "Narendra Modi",
    "King Charles",
    "Pope Leo",
    "Elon Musk",
    "Mark Zuckerberg",
    "Jeff Bezos",
    "Bill Gates",
    "Sam Altman",
    "Taylor Swift",
    "Beyonce",
    "Rihanna",
    "Kim Kardashian",
    "Lionel Messi",
    "Cristiano Ronaldo",
    "LeBron James",
    "Tom Hanks",
    "Scarlett Johansson",
    "Keanu Reeves",
    "Greta Thunberg",
)


def normalise(text: str) -> str:
    """NFKC, lower case, single spaces; words containing letters have leetspeak digits mapped back."""
    text = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return _LEET_WORD.sub(lambda match: match.group(0).translate(_LEET), text)


def topics_in(text: str) -> dict[str, str]:
    """Every topic the text touches, each with the first words that showed it (for the error message)."""
    plain = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    found: dict[str, str] = {}
    for candidate in dict.fromkeys((plain, normalise(text))):
        for topic, pattern in _PATTERNS.items():
            if topic not in found and (match := pattern.search(candidate)):
                found[topic] = match.group(0)
    return found


@dataclass(frozen=True)
class PolicyRefusal:
    code: str  # stable API error code
    message: str
    extra: dict[str, str]


def named_people_in(text: str, names: Iterable[str]) -> list[str]:
    """The names from ``names`` written in ``text`` (whole words, case and spacing ignored)."""
    plain = " " + re.sub(r"[^\w]+", " ", normalise(text)) + " "
    found = []
    for name in names:
        key = " " + re.sub(r"[^\w]+", " ", normalise(name)).strip() + " "
        if key.strip() and key in plain:
            found.append(name)
    return found


def prompt_refusal(
    text: str, *, mentions_people: bool, protected_names: Iterable[str] = ()
) -> PolicyRefusal | None:
    """The platform's refusal of a prompt (or of a video's transcript), or None. ``mentions_people``: the
    text uses at least one person's cameo (sexual content involving a real person is refused with its own
    code); ``protected_names``: names from the protected-likeness gallery, on top of ``PUBLIC_FIGURES``."""
    topics = topics_in(text)
    if MINORS in topics:
        return PolicyRefusal(
            GenerationError.POLICY_MINORS,
            f"Videos involving minors are not allowed (\u201c{topics[MINORS]}\u201d).",
            {"category": MINORS, "matched": topics[MINORS]},
        )
    if SEXUAL in topics:
        if mentions_people:
            return PolicyRefusal(
                GenerationError.POLICY_SEXUAL_REAL_PERSON,
                f"Sexual content involving a real person is not allowed (\u201c{topics[SEXUAL]}\u201d).",
                {"category": SEXUAL, "matched": topics[SEXUAL]},
            )
        return PolicyRefusal(
            GenerationError.POLICY_BLOCKED_CATEGORY,
            f"Sexual content is not allowed (\u201c{topics[SEXUAL]}\u201d).",
            {"category": SEXUAL, "matched": topics[SEXUAL]},
        )
    for category in (GORE, SELF_HARM, HATE):
        if category in topics:
            return PolicyRefusal(
                GenerationError.POLICY_BLOCKED_CATEGORY,
                f"This kind of content ({category.replace('_', ' ')}) is not allowed (\u201c{topics[category]}\u201d).",
                {"category": category, "matched": topics[category]},
            )
    named = named_people_in(text, (*PUBLIC_FIGURES, *protected_names))
    if named:
        return PolicyRefusal(
            GenerationError.POLICY_REAL_PERSON,
            f"{named[0]} has no cameo you can use: real people appear only through their own cameo.",
            {"name": named[0]},
        )
    return None


def restriction_hit(
    text: str, *, categories: Iterable[str], forbidden_words: Iterable[str]
) -> dict[str, str] | None:
    """Which of an owner's restrictions ``text`` breaks: ``{"category": ...}`` or ``{"word": ...}``, or None."""
    topics = topics_in(text)
    for category in categories:
        if category in topics:
            return {"category": category, "matched": topics[category]}
    plain = " " + re.sub(r"[^\w']+", " ", normalise(text)) + " "
    raw = " " + re.sub(r"[^\w']+", " ", " ".join(unicodedata.normalize("NFKC", text).lower().split())) + " "
    for word in forbidden_words:
        key = " " + " ".join(word.lower().split()) + " "
        if key in plain or key in raw:
            return {"word": word}
    return None
