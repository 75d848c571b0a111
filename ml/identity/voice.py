"""Voice: where the speech is (WebRTC VAD) and who is speaking (Resemblyzer's GE2E d-vector, 256-D).

The embedding is computed from speech frames only: silence and room noise would pull every voice towards
the same "empty room" vector. Below ``min_speech_s`` of speech the result says so instead of returning a
vector nobody should trust. Same voice, other words: cosine ~0.93; other voices: ~0.55-0.67 (espeak);
similar synthetic voices of one engine can reach ~0.87, so a close match is a signal, not a proof.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import webrtcvad

from ml import registry

SAMPLE_RATE = 16_000
SAME_VOICE_MIN_SIMILARITY = 0.80  # cosine; between "other words" (~0.93) and "other voice" (~0.6)


@dataclass(frozen=True)
class VoiceConfig:
    vad_aggressiveness: int = 2  # WebRTC VAD mode 0..3; 3 drops soft speech, 0 keeps noise
    frame_ms: int = 30  # VAD frame length; WebRTC accepts 10, 20 or 30 ms
    pad_ms: int = 90  # speech kept around each voiced frame so word edges are not clipped
    min_speech_s: float = 1.0  # less than this is too little to say who is speaking


@dataclass(frozen=True, eq=False)
class VoiceActivity:
    frame_s: float  # seconds per VAD frame
    is_speech: np.ndarray  # (F,) bool, one per frame
    speech_s: float  # total voiced time
    segments: tuple[tuple[float, float], ...]  # (start_s, end_s) of voiced runs

    def mask_at(self, times_s: np.ndarray) -> np.ndarray:
        """Whether speech is going on at each time, (T,) bool."""
        index = np.clip((np.asarray(times_s) / self.frame_s).astype(int), 0, max(len(self.is_speech) - 1, 0))
        return self.is_speech[index] if len(self.is_speech) else np.zeros(len(index), dtype=bool)


@dataclass(frozen=True, eq=False)
class VoiceResult:
    verdict: Literal["ok", "too_little_speech"]
    embedding: np.ndarray | None  # (256,) float32, unit length; None when verdict is not "ok"
    speech_s: float  # voiced seconds the embedding was computed from


def _as_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def detect_voice_activity(audio: np.ndarray, config: VoiceConfig = VoiceConfig()) -> VoiceActivity:
    """WebRTC VAD over (N,) float32 mono audio at 16 kHz."""
    vad = webrtcvad.Vad(config.vad_aggressiveness)
    frame_len = SAMPLE_RATE * config.frame_ms // 1000
    n_frames = len(audio) // frame_len
    pcm = _as_pcm16(audio[: n_frames * frame_len])
    flags = np.array(
        [
            vad.is_speech(pcm[i * frame_len * 2 : (i + 1) * frame_len * 2], SAMPLE_RATE)
            for i in range(n_frames)
        ],
        dtype=bool,
    )
    frame_s = config.frame_ms / 1000
    segments = []
    start = None
    for index, flag in enumerate([*flags.tolist(), False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            segments.append((start * frame_s, index * frame_s))
            start = None
    return VoiceActivity(
        frame_s=frame_s, is_speech=flags, speech_s=float(flags.sum() * frame_s), segments=tuple(segments)
    )


def speech_only(audio: np.ndarray, activity: VoiceActivity, pad_ms: int) -> np.ndarray:
    """The voiced frames (each widened by ``pad_ms``), concatenated, (M,) float32."""
    frame_len = int(activity.frame_s * SAMPLE_RATE)
    pad = max(1, round(pad_ms / (activity.frame_s * 1000)))
    keep = np.convolve(activity.is_speech.astype(np.int32), np.ones(2 * pad + 1, dtype=np.int32), "same") > 0
    sample_mask = np.repeat(keep, frame_len)
    return audio[: len(sample_mask)][sample_mask]


def _normalise_volume(audio: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Raise quiet speech to Resemblyzer's training level (-30 dBFS); never attenuate (as it does)."""
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if len(audio) else 0.0
    if rms <= 1e-9:
        return audio
    gain_db = target_dbfs - 20 * np.log10(rms)
    return audio * (10 ** (gain_db / 20)) if gain_db > 0 else audio


class VoiceEmbedder:
    """Resemblyzer's pretrained speaker encoder on speech-only audio, loaded once per process."""

    name = "resemblyzer_ge2e_v1"
    dim = 256

    def __init__(self, config: VoiceConfig = VoiceConfig()) -> None:
        self.config = config
        weights = registry.model_path("resemblyzer_voice_encoder")

        def build() -> Any:
            with warnings.catch_warnings():  # resemblyzer imports a deprecated scipy path; not ours to fix
                warnings.simplefilter("ignore", DeprecationWarning)
                from resemblyzer import VoiceEncoder

            return VoiceEncoder(device="cpu", verbose=False, weights_fpath=weights)

        self._encoder = registry.load_once("resemblyzer_voice_encoder", build)

    def embed(self, audio: np.ndarray, activity: VoiceActivity | None = None) -> VoiceResult:
        """Voice embedding of (N,) float32 16 kHz mono audio, or a "too_little_speech" verdict."""
        activity = activity or detect_voice_activity(audio, self.config)
        if activity.speech_s < self.config.min_speech_s:
            return VoiceResult(verdict="too_little_speech", embedding=None, speech_s=activity.speech_s)
        speech = _normalise_volume(speech_only(audio, activity, self.config.pad_ms))
        embedding = self._encoder.embed_utterance(speech.astype(np.float32))
        return VoiceResult(verdict="ok", embedding=embedding.astype(np.float32), speech_s=activity.speech_s)


def voice_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two voice embeddings (1 = same direction)."""
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
