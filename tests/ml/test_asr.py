"""ml.speech.asr: digit normalisation, and the challenge digits recovered from several espeak voices."""

from __future__ import annotations

import pytest

from ml.identity.liveness import IdentityModels
from ml.speech.asr import digits_in_text, match_digits
from tests.fixtures.recordings import digits_sentence, speak


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("472.9", "4729"),
        ("4,729", "4729"),
        ("4 7 2 9.", "4729"),
        ("four, seven, two, nine", "4729"),
        ("forty-seven twenty-nine", "4729"),
        ("My code is 472 now.", "472"),
        ("four hundred seventy two", "472"),
        ("double seven, oh, one", "7701"),
        ("I went to the shop for bread", ""),
    ],
)
def test_digits_are_read_from_words_and_numerals(text: str, digits: str) -> None:
    assert digits_in_text(text) == digits


def test_digit_matcher_scores_instead_of_demanding_exact_text() -> None:
    assert match_digits("4729", "My code is 4729, thanks").score == 1.0
    one_misheard = match_digits("4729", "My code is 472 now.")
    assert one_misheard.matched and one_misheard.score == 0.75 and one_misheard.heard == "472"
    wrong = match_digits("4729", "1856")
    assert not wrong.matched and wrong.score == 0.0
    with pytest.raises(ValueError, match="'47a9'"):
        match_digits("47a9", "anything")


@pytest.mark.parametrize(
    ("voice", "digits"), [("en+m3", "4729"), ("en+f4", "3816"), ("en-us+m1", "5073"), ("en+f2", "9264")]
)
def test_challenge_digits_are_recovered_from_espeak_voices(
    models: IdentityModels, voice: str, digits: str
) -> None:
    transcript = models.asr.transcribe(speak(digits_sentence(digits), voice))

    result = match_digits(digits, transcript.text)

    print(f"{voice}: said {digits}, heard {transcript.text!r} -> {result.heard} (score {result.score:.2f})")
    assert result.matched, (transcript.text, result)
    assert transcript.words and all(w.start_s <= w.end_s for w in transcript.words)
    starts = [w.start_s for w in transcript.words]
    assert starts == sorted(starts)
