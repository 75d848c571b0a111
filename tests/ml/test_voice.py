"""ml.identity.voice on real espeak-ng speech: activity, speaker embeddings, too little speech."""

from __future__ import annotations

import numpy as np
import pytest

from ml.identity.liveness import IdentityModels
from ml.identity.voice import SAME_VOICE_MIN_SIMILARITY, detect_voice_activity, voice_similarity
from tests.fixtures.recordings import speak

SENTENCE_A = "The quick brown fox jumps over the lazy dog near the river bank."
SENTENCE_B = "Please record a short video of yourself reading these numbers aloud."


def _embed(models: IdentityModels, text: str, voice: str) -> np.ndarray:
    result = models.voice.embed(speak(text, voice))
    assert result.verdict == "ok" and result.embedding is not None
    return result.embedding


@pytest.mark.parametrize("voice", ["en+m3", "en+f4"])
def test_same_voice_on_different_sentences_matches(models: IdentityModels, voice: str) -> None:
    similarity = voice_similarity(_embed(models, SENTENCE_A, voice), _embed(models, SENTENCE_B, voice))
    print(f"{voice} vs itself, other sentence: cosine {similarity:.3f}")
    assert similarity >= SAME_VOICE_MIN_SIMILARITY


@pytest.mark.parametrize(
    ("voice_a", "voice_b"), [("en+m3", "en+f4"), ("en+f4", "en-us+m1"), ("en+m3", "en+f2")]
)
def test_different_voices_are_told_apart(models: IdentityModels, voice_a: str, voice_b: str) -> None:
    similarity = voice_similarity(_embed(models, SENTENCE_A, voice_a), _embed(models, SENTENCE_A, voice_b))
    print(f"{voice_a} vs {voice_b}, same sentence: cosine {similarity:.3f}")
    assert similarity < SAME_VOICE_MIN_SIMILARITY


def test_silence_and_a_single_word_are_too_little_speech(models: IdentityModels) -> None:
    silence = np.zeros(3 * 16_000, dtype=np.float32)
    assert detect_voice_activity(silence).speech_s == 0.0
    assert models.voice.embed(silence).verdict == "too_little_speech"
    word = models.voice.embed(speak("yes", "en+m3"))
    assert word.verdict == "too_little_speech" and word.embedding is None


def test_voice_activity_finds_the_speech_in_a_padded_clip() -> None:
    speech = speak(SENTENCE_A, "en+m3")
    padded = np.concatenate([np.zeros(16_000, np.float32), speech, np.zeros(16_000, np.float32)])
    activity = detect_voice_activity(padded)
    assert activity.segments[0][0] >= 0.9
    assert activity.segments[-1][1] <= 1.1 + len(speech) / 16_000
    assert activity.speech_s > 0.6 * len(speech) / 16_000
