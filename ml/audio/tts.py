"""Text to speech in a cameo's voice.

``SpeechSynthesizer`` is what the mixer calls: text and a voice embedding in, float32 mono samples out. The
embedded default, ``EspeakSynthesizer``, runs Debian's ``espeak-ng`` (formant synthesis, no weights) and
cannot clone a voice: ``match_voice`` instead searches espeak's voice variants, pitch and rate for the one
whose Resemblyzer embedding is closest (cosine) to the cameo's, so a deep male voice gets a deep male
variant rather than espeak's default. A GPU worker that has a voice-cloning model plugs it in through
``VoiceCloningSynthesizer`` (same call, conditioned on the embedding itself); none ships here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import soundfile
from scipy import signal

from ml.identity.voice import SAMPLE_RATE as EMBEDDING_SAMPLE_RATE
from ml.identity.voice import voice_similarity

ESPEAK_SAMPLE_RATE = 22_050  # what espeak-ng writes
DEFAULT_LANGUAGE = "en"
MALE_VARIANTS = tuple(f"m{i}" for i in range(1, 8))
FEMALE_VARIANTS = tuple(f"f{i}" for i in range(1, 6))
# Spoken once per candidate voice: ~2 s of varied English phonemes (enough for a stable d-vector, short
# enough that the whole search stays within a few seconds of CPU).
CALIBRATION_SENTENCE = "She sells bright yellow shells by the warm sea shore."
# The finalists of the search say this one too, so the winner is not the voice that best fits one sentence.
SECOND_CALIBRATION_SENTENCE = "Could you bring the old map from the kitchen table, please?"


class SpeechSynthesizer(Protocol):
    """Speaks text. ``voice_embedding`` is the cameo's (256,) Resemblyzer vector, or None for a neutral
    voice; the result is (N,) float32 mono in [-1, 1] at ``sample_rate`` Hz, without long silences around."""

    name: str  # recorded next to the audio it made, like an engine name

    def synthesize(
        self, text: str, voice_embedding: np.ndarray | None, *, sample_rate: int
    ) -> np.ndarray: ...


@runtime_checkable
class VoiceCloningSynthesizer(SpeechSynthesizer, Protocol):
    """The GPU worker's plug-in point for a voice-cloning TTS (a model conditioned on a speaker embedding,
    such as a d-vector-conditioned VITS/YourTTS-style model). ``ml.generate.default_synthesizer`` is the one
    place that picks the synthesizer a render uses (``generate``'s signature is the worker contract and
    takes none): a worker with such a model returns it from there instead of espeak.

    Contract beyond ``SpeechSynthesizer``: ``speaker_embedding_model`` names the embedding the model was
    trained to condition on; it must be ``"resemblyzer_ge2e_v1"`` (``ml.identity.voice.VoiceEmbedder.name``),
    the vector stored with every cameo, or the model must carry its own adapter from that vector. No such
    model ships with this repository: its weights would come through ``ml.registry`` like every other model.
    """

    speaker_embedding_model: str


@dataclass(frozen=True)
class VoiceChoice:
    """One espeak-ng voice setting."""

    variant: str  # voice variant appended to the language: "m3", "f2"; "" for espeak's default voice
    pitch: int  # espeak -p, 0..99 (50 is the variant's own pitch)
    rate: int  # espeak -s, words per minute (175 is espeak's default)
    similarity: float | None = None  # cosine to the target embedding when chosen by ``match_voice``

    def voice_name(self, language: str = DEFAULT_LANGUAGE) -> str:
        return f"{language}+{self.variant}" if self.variant else language


DEFAULT_VOICE = VoiceChoice(variant="", pitch=50, rate=175)


@dataclass(frozen=True)
class MatchGrid:
    """The coarse-to-fine search ``match_voice`` runs: variants at the default pitch, then the best
    ``keep_variants`` of them at each pitch, then the best of those at each rate; then the ``finalists``
    best (and the default voice) are scored on a second sentence and the best mean of the two wins."""

    variants: tuple[str, ...] = ("", *MALE_VARIANTS, *FEMALE_VARIANTS)
    pitches: tuple[int, ...] = (20, 35, 50, 65, 80)
    rates: tuple[int, ...] = (150, 175, 200)
    keep_variants: int = 2
    finalists: int = 4  # the best this many are re-scored on a second sentence; the mean decides


def _espeak_binary() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise FileNotFoundError("espeak-ng is not installed: apt-get install -y espeak-ng")
    return found


def trim_silence(
    audio: np.ndarray, sample_rate: int, threshold: float = 0.01, pad_s: float = 0.03
) -> np.ndarray:
    """Drop leading and trailing samples quieter than ``threshold`` (keeping ``pad_s`` around the speech)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if not len(loud):
        return audio[:0]
    pad = int(pad_s * sample_rate)
    return audio[max(loud[0] - pad, 0) : loud[-1] + pad + 1]


def _resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    divisor = np.gcd(source_rate, target_rate)
    return signal.resample_poly(audio, target_rate // divisor, source_rate // divisor).astype(np.float32)


@contextlib.contextmanager
def single_torch_thread() -> Iterator[None]:
    """Run Resemblyzer's small LSTM on one intra-op thread: it gains nothing from more, and on a machine
    whose cores are busy two threads made one 2 s embedding take 1.85 s instead of 0.15 s."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def embedding_key(voice_embedding: np.ndarray) -> str:
    """A cache key for an embedding: digest of its float32 bytes rounded to 1e-4 (float noise is one voice)."""
    rounded = np.round(np.asarray(voice_embedding, dtype=np.float64), 4).astype("<f4")
    return hashlib.sha256(rounded.tobytes()).hexdigest()


class EspeakSynthesizer:
    """``SpeechSynthesizer`` over espeak-ng in a subprocess, voice chosen by ``match_voice`` (cached)."""

    name = "espeak_ng_matched"

    def __init__(
        self,
        *,
        language: str = DEFAULT_LANGUAGE,
        grid: MatchGrid = MatchGrid(),
        embed: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """``embed``: (N,) 16 kHz audio -> (256,) vector; default Resemblyzer (``VoiceEmbedder``), loaded on
        the first match."""
        self.language = language
        self.grid = grid
        self._embed = embed
        self._matches: dict[str, VoiceChoice] = {}
        self._lock = threading.Lock()

    def speak(self, text: str, voice: VoiceChoice, *, sample_rate: int) -> np.ndarray:
        """``text`` in ``voice``, silence trimmed, (N,) float32 at ``sample_rate``."""
        if not text.strip():
            raise ValueError(f"nothing to say: text {text!r} is blank")
        if not 0 <= voice.pitch <= 99 or not 80 <= voice.rate <= 450:
            raise ValueError(f"espeak pitch must be 0..99 and rate 80..450, got {voice.pitch}, {voice.rate}")
        command = [
            _espeak_binary(),
            "-v",
            voice.voice_name(self.language),
            "-p",
            str(voice.pitch),
            "-s",
            str(voice.rate),
            "--stdout",
            "--",  # the text may start with "-"
            text,
        ]
        wav = subprocess.run(command, capture_output=True, check=True, timeout=60).stdout
        audio, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        return trim_silence(_resample(audio, rate, sample_rate), sample_rate)

    def _embedding_of(self, audio_16k: np.ndarray) -> np.ndarray:
        if self._embed is None:
            from ml.identity.voice import VoiceEmbedder

            encoder = VoiceEmbedder()._encoder  # speech-only trimming is moot: espeak output is all speech
            self._embed = lambda audio: np.asarray(encoder.embed_utterance(audio), dtype=np.float32)
        with single_torch_thread():
            return self._embed(audio_16k)

    def score(self, voice: VoiceChoice, target: np.ndarray, sentence: str = CALIBRATION_SENTENCE) -> float:
        """Cosine similarity of ``voice`` saying ``sentence`` to the ``target`` embedding."""
        audio = self.speak(sentence, voice, sample_rate=EMBEDDING_SAMPLE_RATE)
        return voice_similarity(self._embedding_of(audio), target)

    def match_voice(self, voice_embedding: np.ndarray) -> VoiceChoice:
        """The espeak voice (variant, pitch, rate) closest to ``voice_embedding``; cached per embedding."""
        target = np.asarray(voice_embedding, dtype=np.float32)
        if target.ndim != 1 or not np.all(np.isfinite(target)) or not np.any(target):
            raise ValueError(f"voice_embedding must be a finite non-zero vector, got shape {target.shape}")
        key = embedding_key(target)
        with self._lock:
            if key not in self._matches:
                self._matches[key] = self._search(target)
            return self._matches[key]

    def _search(self, target: np.ndarray) -> VoiceChoice:
        grid = self.grid
        scored: dict[VoiceChoice, float] = {}

        def best(candidates: Sequence[VoiceChoice], keep: int) -> list[VoiceChoice]:
            for voice in candidates:
                if voice not in scored:
                    scored[voice] = self.score(voice, target)
            return sorted(candidates, key=lambda v: (-scored[v], v.variant, v.pitch, v.rate))[:keep]

        # 1. which variant (timbre), at each variant's own pitch and espeak's default rate
        variants = best(
            [VoiceChoice(v, DEFAULT_VOICE.pitch, DEFAULT_VOICE.rate) for v in grid.variants],
            grid.keep_variants,
        )
        # 2. pitch, for the best few variants
        pitched = best(
            [
                VoiceChoice(v.variant, pitch, v.rate)
                for v in variants
                for pitch in sorted({*grid.pitches, v.pitch})
            ],
            1,
        )[0]
        # 3. rate, for the winner
        best(
            [
                VoiceChoice(pitched.variant, pitched.pitch, rate)
                for rate in sorted({*grid.rates, pitched.rate})
            ],
            1,
        )
        # 4. the finalists again on a second sentence: one short sentence alone overfits
        finalists = sorted(scored, key=lambda v: (-scored[v], v.variant, v.pitch, v.rate))[: grid.finalists]
        if DEFAULT_VOICE in scored and DEFAULT_VOICE not in finalists:
            finalists.append(DEFAULT_VOICE)  # so the match is never worse than espeak's default on both
        mean = {v: (scored[v] + self.score(v, target, SECOND_CALIBRATION_SENTENCE)) / 2 for v in finalists}
        chosen = max(finalists, key=lambda v: mean[v])
        return VoiceChoice(chosen.variant, chosen.pitch, chosen.rate, similarity=mean[chosen])

    def voice_for(self, voice_embedding: np.ndarray | None) -> VoiceChoice:
        return DEFAULT_VOICE if voice_embedding is None else self.match_voice(voice_embedding)

    def synthesize(self, text: str, voice_embedding: np.ndarray | None, *, sample_rate: int) -> np.ndarray:
        return self.speak(text, self.voice_for(voice_embedding), sample_rate=sample_rate)
