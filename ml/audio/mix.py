"""A scene's soundtrack: its dialogue in each speaker's voice, placed at the lines' times, over its cues.

1. each dialogue line is synthesised (``SpeechSynthesizer``, voice from the speaker's embedding), levelled,
   and fitted into [start, end]: sped up (WSOLA time-stretch, up to ``MAX_STRETCH``) when too long, then cut with
   a fade when still too long; it starts at ``start`` and is silent after it ends; a narrator's line
   (``spec.narration``) likewise, in the synthesizer's neutral voice;
2. each cue is rendered by ``ml.audio.cues`` over its span (music and ambience with no end run to the end;
   effects last their own length), with fades, at its kind's level; music and ambience duck under speech;
3. the sum goes through a peak limiter to ``CEILING_DBFS`` (-1 dBFS) and is exactly ``spec.duration`` long.

Deterministic: each cue's noise comes from ``np.random.default_rng((spec.seed, cue index))``, and espeak and
the DSP are deterministic, so the same spec and voices give the same samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ml.audio import cues as cue_sounds
from ml.audio.tts import SpeechSynthesizer
from ml.scene import AudioCue, CueKind, DialogueLine, NarrationLine, SceneSpec

MIX_SAMPLE_RATE = 24_000  # Hz; AAC's 24 kHz profile keeps speech and music clear at a small size
CEILING_DBFS = -1.0  # the mix's peak never goes above this (encoders overshoot a little on hot masters)
MAX_STRETCH = 1.6  # speed-up beyond this stops sounding like speech: the rest is cut instead
FADE_S = 0.01  # on every line's edges, so cuts do not click
CUE_FADE_S = 0.4  # in and out of music and ambience
# levels (RMS in dBFS for beds and speech, peak for effects), a broadcast-style balance with speech on top
SPEECH_RMS_DBFS = -18.0
MUSIC_RMS_DBFS = -27.0
AMBIENCE_RMS_DBFS = -33.0
SFX_PEAK_DBFS = -9.0
NARRATOR_VOICE_KEY = "(narrator)"  # in Soundtrack.voices: no handle can be written like this
DUCK_DB = 8.0  # music and ambience drop this much while someone speaks


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


@dataclass(frozen=True, eq=False)
class SpokenLine:
    """A dialogue line as it sounds in the mix (before ducking and limiting of the rest)."""

    line: DialogueLine
    samples: (
        np.ndarray
    )  # (round((end - start) * sample_rate),) float32: the speech from ``start``, then zeros
    speech_s: float  # seconds of speech at the start of ``samples`` after fitting
    stretch: float  # speed-up applied to fit the window (1.0: none)
    cut_s: float  # seconds of speech cut off because even ``MAX_STRETCH`` was not enough


@dataclass(frozen=True, eq=False)
class NarratedLine:
    """A narrator's line as it sounds in the mix (no face on screen says it)."""

    line: NarrationLine
    samples: np.ndarray  # as ``SpokenLine.samples``
    speech_s: float
    stretch: float
    cut_s: float


@dataclass(frozen=True, eq=False)
class Soundtrack:
    audio: np.ndarray  # (round(duration * sample_rate),) float32, peak <= CEILING_DBFS
    sample_rate: int
    lines: tuple[SpokenLine, ...]  # in the spec's dialogue order
    voices: Mapping[str, str]  # speaker handle -> the voice used, as the synthesizer names it
    narration: tuple[NarratedLine, ...] = ()  # in the spec's narration order, in the neutral voice


def _fade(audio: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    out = audio.copy()
    if fade_in:
        out[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)[: len(out)]
    if fade_out:
        fade_out = min(fade_out, len(out))
        out[len(out) - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    return out


def time_stretch(audio: np.ndarray, rate: float, sample_rate: int) -> np.ndarray:
    """WSOLA: ``audio`` played ``rate`` times faster at the same pitch, ~len / rate samples. 30 ms Hann
    frames overlap by half at the output; each is taken from within 10 ms of its nominal input position
    where it best continues the previous frame, so pitch periods line up and nothing phases or clicks."""
    frame = int(0.03 * sample_rate)
    hop_out, tolerance = frame // 2, int(0.01 * sample_rate)
    hop_in = hop_out * rate
    padded = np.pad(audio.astype(np.float32), (tolerance, frame + tolerance))
    count = max(int((len(audio) - frame) / hop_in) + 1, 1)
    window = np.hanning(frame).astype(np.float32)
    out = np.zeros(count * hop_out + frame, dtype=np.float32)
    weight = np.zeros_like(out)
    source = tolerance  # where frame k is read from in ``padded``
    for index in range(count):
        out[index * hop_out : index * hop_out + frame] += padded[source : source + frame] * window
        weight[index * hop_out : index * hop_out + frame] += window
        # the next frame: near its nominal position, most like what would follow this one naturally
        natural = padded[source + hop_out : source + hop_out + frame]
        nominal = tolerance + round((index + 1) * hop_in)
        lo = max(nominal - tolerance, 0)
        candidates = padded[lo : nominal + tolerance + frame]
        if len(natural) < frame or len(candidates) < frame:
            break
        similarity = np.correlate(candidates, natural, mode="valid")  # (2 * tolerance + 1,)
        source = lo + int(np.argmax(similarity))
    return out[: round(len(audio) / rate)] / np.maximum(weight[: round(len(audio) / rate)], 1e-3)


def fit_line(speech: np.ndarray, window: int, sample_rate: int) -> tuple[np.ndarray, float, float]:
    """``speech`` in exactly ``window`` samples: (samples, stretch, seconds cut)."""
    stretch = 1.0
    if len(speech) > window:
        stretch = min(len(speech) / window, MAX_STRETCH)
        speech = time_stretch(speech, stretch, sample_rate)
    cut = max(len(speech) - window, 0) / sample_rate
    fade = int(FADE_S * sample_rate)
    speech = _fade(speech[:window], fade, fade if cut == 0 else int(0.08 * sample_rate))
    placed = np.zeros(window, dtype=np.float32)
    placed[: len(speech)] = speech
    return placed, stretch, cut


def limit(audio: np.ndarray, sample_rate: int, ceiling_dbfs: float = CEILING_DBFS) -> np.ndarray:
    """Peak limiter: a gain curve that is never above the gain each sample needs (min filter, then a moving
    average no wider than it), 5 ms attack and release; then a final scale as a guarantee."""
    ceiling = db_to_gain(ceiling_dbfs)
    width = max(int(0.005 * sample_rate), 1)
    envelope = ndimage.maximum_filter1d(np.abs(audio), size=2 * width + 1)
    needed = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
    # a moving average over `width` of a min over `2 * width + 1` stays at or below the needed gain
    gain = ndimage.uniform_filter1d(ndimage.minimum_filter1d(needed, size=2 * width + 1), size=width)
    out = (audio * np.minimum(gain, needed)).astype(np.float32)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    return out if peak <= ceiling else (out * (ceiling / peak)).astype(np.float32)


def _cue_span(cue: AudioCue, duration: float, natural_s: float | None) -> tuple[float, float]:
    """(start, end) seconds the cue sounds: its end, else its own length (effects) or the video's end."""
    end = cue.end if cue.end is not None else duration
    if natural_s is not None and cue.end is None:
        end = min(cue.start + natural_s, duration)
    return cue.start, end


def render_cue(cue: AudioCue, index: int, spec: SceneSpec, sample_rate: int) -> tuple[int, np.ndarray]:
    """(first sample, samples) of one cue at its level, faded; deterministic in (spec.seed, index)."""
    rng = np.random.default_rng((spec.seed, index))
    if cue.kind is CueKind.SFX:
        sound = cue_sounds.effect(cue.description, sample_rate, rng)
        start, end = _cue_span(cue, spec.duration, len(sound) / sample_rate)
        sound = sound[: round((end - start) * sample_rate)]
        peak = float(np.max(np.abs(sound))) if len(sound) else 0.0
        sound = sound * (db_to_gain(SFX_PEAK_DBFS) / max(peak, 1e-9))
        sound = _fade(sound, int(0.002 * sample_rate), int(0.03 * sample_rate))
    else:
        start, end = _cue_span(cue, spec.duration, None)
        length = round((end - start) * sample_rate)
        if cue.kind is CueKind.MUSIC:
            sound = cue_sounds.music(cue.description, cue.bpm, length, sample_rate, rng)
            level = MUSIC_RMS_DBFS
        else:
            sound = cue_sounds.ambience(cue.description, length, sample_rate, rng)
            level = AMBIENCE_RMS_DBFS
        fade = min(int(CUE_FADE_S * sample_rate), length // 3)
        sound = _fade(cue_sounds.rms_normalise(sound, db_to_gain(level)), fade, fade)
    return round(start * sample_rate), sound.astype(np.float32)


def render_soundtrack(
    spec: SceneSpec,
    voices: Mapping[str, np.ndarray | None],
    synthesizer: SpeechSynthesizer,
    *,
    sample_rate: int = MIX_SAMPLE_RATE,
) -> Soundtrack:
    """The scene's mixed audio. ``voices`` maps each speaker's handle to its voice embedding (None: the
    synthesizer's neutral voice); a speaker missing from it is a ValueError naming the handle."""
    missing = sorted({line.speaker for line in spec.dialogue} - set(voices))
    if missing:
        raise ValueError(f"no voice entry for speaker(s) {', '.join('@' + h for h in missing)}")
    total = round(spec.duration * sample_rate)
    # 1. dialogue
    speech_bus = np.zeros(total, dtype=np.float32)
    lines = []
    for line in spec.dialogue:
        speech = synthesizer.synthesize(line.text, voices[line.speaker], sample_rate=sample_rate)
        speech = cue_sounds.rms_normalise(speech, db_to_gain(SPEECH_RMS_DBFS))
        start = round(line.start * sample_rate)
        window = min(round(line.end * sample_rate), total) - start
        placed, stretch, cut = fit_line(speech, window, sample_rate)
        speech_bus[start : start + window] += placed
        speech_s = min(len(speech) / stretch, window) / sample_rate
        lines.append(SpokenLine(line=line, samples=placed, speech_s=speech_s, stretch=stretch, cut_s=cut))
    narrated = []
    for narration in spec.narration:  # the narrator: the synthesizer's neutral voice
        speech = synthesizer.synthesize(narration.text, None, sample_rate=sample_rate)
        speech = cue_sounds.rms_normalise(speech, db_to_gain(SPEECH_RMS_DBFS))
        start = round(narration.start * sample_rate)
        window = min(round(narration.end * sample_rate), total) - start
        placed, stretch, cut = fit_line(speech, window, sample_rate)
        speech_bus[start : start + window] += placed
        speech_s = min(len(speech) / stretch, window) / sample_rate
        narrated.append(NarratedLine(narration, placed, speech_s, stretch, cut))
    # 2. cues: beds (music, ambience) duck under speech; effects do not
    bed_bus = np.zeros(total, dtype=np.float32)
    effect_bus = np.zeros(total, dtype=np.float32)
    for index, cue in enumerate(spec.cues):
        first, sound = render_cue(cue, index, spec, sample_rate)
        bus = effect_bus if cue.kind is CueKind.SFX else bed_bus
        bus[first : first + len(sound)] += sound[: total - first]
    talking = ndimage.maximum_filter1d(
        (np.abs(speech_bus) > 1e-4).astype(np.float32), size=int(0.3 * sample_rate)
    )
    duck = 1.0 - (1.0 - db_to_gain(-DUCK_DB)) * ndimage.uniform_filter1d(talking, size=int(0.1 * sample_rate))
    # 3. master
    mix = speech_bus + bed_bus * duck + effect_bus
    voice_names = {handle: _voice_name(synthesizer, embedding) for handle, embedding in voices.items()}
    if narrated:
        voice_names[NARRATOR_VOICE_KEY] = _voice_name(synthesizer, None)
    return Soundtrack(
        audio=limit(mix, sample_rate),
        sample_rate=sample_rate,
        lines=tuple(lines),
        voices=voice_names,
        narration=tuple(narrated),
    )


def _voice_name(synthesizer: SpeechSynthesizer, embedding: np.ndarray | None) -> str:
    voice_for = getattr(synthesizer, "voice_for", None)
    if voice_for is None:
        return synthesizer.name
    choice = voice_for(embedding)
    return f"{synthesizer.name}:{choice.voice_name()} p{choice.pitch} s{choice.rate}"
