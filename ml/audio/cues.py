"""Procedural sound for a scene's cues: music, effects and ambience, made from oscillators and filtered
noise (no weights, no samples), so every render has a soundtrack that follows what the prompt asked for.

A cue's description picks the sound by keyword (``"rain"`` -> rain ambience, ``"whoosh"`` -> a swept noise
burst, ``"170 BPM"`` -> the tempo); anything unrecognised still gets a sound of its kind (a soft pad and
beat, a generic transient, a pink-noise room tone). Each generator is deterministic given its ``rng``.
A GPU worker with a text-to-audio model would replace these functions one for one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from scipy import signal

DEFAULT_BPM = 100
# the longest a one-shot effect with no end lasts; ambience and music with no end run to the video's end
ONE_SHOT_MAX_S = 2.5


def _has(description: str, *words: str) -> bool:
    text = description.lower()
    return any(re.search(rf"\b{re.escape(word)}", text) for word in words)


def _lowpass(audio: np.ndarray, cutoff_hz: float, sample_rate: int, order: int = 4) -> np.ndarray:
    sos = signal.butter(order, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def _highpass(audio: np.ndarray, cutoff_hz: float, sample_rate: int, order: int = 4) -> np.ndarray:
    sos = signal.butter(order, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def _bandpass(
    audio: np.ndarray, low_hz: float, high_hz: float, sample_rate: int, order: int = 2
) -> np.ndarray:
    sos = signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f) noise, unit RMS: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, n)
    return (pink / max(float(np.std(pink)), 1e-9)).astype(np.float32)


def _slow_swell(
    n: int, sample_rate: int, rng: np.random.Generator, period_s: float, depth: float
) -> np.ndarray:
    """A smooth random gain between 1 - depth and 1 that changes over about ``period_s``."""
    points = max(int(n / sample_rate / period_s) + 3, 3)
    knots = rng.uniform(0.0, 1.0, points)
    curve = np.interp(np.linspace(0, points - 1, n), np.arange(points), knots)
    curve = np.sin(curve * np.pi / 2) ** 2  # ease between knots
    return (1.0 - depth + depth * curve).astype(np.float32)


def rms_normalise(audio: np.ndarray, rms: float) -> np.ndarray:
    current = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    return audio if current < 1e-9 else (audio * (rms / current)).astype(np.float32)


# ---- music


def _kick(sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    frequency = 45 + 110 * np.exp(-t * 30)  # pitch drop 155 -> 45 Hz
    return (np.sin(2 * np.pi * np.cumsum(frequency) / sample_rate) * np.exp(-t * 14)).astype(np.float32)


def _snare(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.18 * sample_rate)) / sample_rate
    noise = _bandpass(rng.standard_normal(len(t)).astype(np.float32), 1200, 6000, sample_rate)
    tone = np.sin(2 * np.pi * 190 * t)
    return ((noise * 2.5 + 0.4 * tone) * np.exp(-t * 25)).astype(np.float32)


def _hat(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sample_rate)) / sample_rate
    noise = _highpass(
        rng.standard_normal(len(t)).astype(np.float32), min(7000, 0.4 * sample_rate), sample_rate
    )
    return (noise * np.exp(-t * 90)).astype(np.float32)


def _place(track: np.ndarray, sound: np.ndarray, at: int, gain: float = 1.0) -> None:
    if at >= len(track) or at + len(sound) <= 0:
        return
    start = max(at, 0)
    piece = sound[start - at : start - at + len(track) - start]
    track[start : start + len(piece)] += gain * piece


def music(
    description: str, bpm: int | None, length: int, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """A loop at ``bpm`` (default 100): kick, snare and hats (unless the description asks for something
    calm), a bass line on the beat and a soft chord pad, over a 4-bar progression picked by ``rng``."""
    if _has(description, "string", "quartet", "violin", "cello", "viola", "orchestra", "symphon"):
        return strings(bpm, length, sample_rate, rng)
    tempo = bpm or DEFAULT_BPM
    beat = 60.0 / tempo
    calm = _has(description, "calm", "soft", "ambient", "piano", "lullaby", "gentle", "sad")
    root_hz = 55.0 * 2 ** (int(rng.integers(0, 7)) / 12)  # A1 .. D#2
    progression = rng.choice([0, 3, 5, 7, 8, 10], size=4)  # semitones above the root, one per bar
    track = np.zeros(length, dtype=np.float32)
    t_all = np.arange(length) / sample_rate
    # 1. drums on a 16th-note grid
    kick, snare, hat = _kick(sample_rate), _snare(sample_rate, rng), _hat(sample_rate, rng)
    steps = int(length / sample_rate / (beat / 4)) + 1
    for step in range(steps if not calm else 0):
        at = round(step * beat / 4 * sample_rate)
        position = step % 16
        if position in (0, 8) or (position == 10 and rng.random() < 0.5):
            _place(track, kick, at, 0.9)
        if position in (4, 12):
            _place(track, snare, at, 0.35)
        if position % 2 == 0:
            _place(track, hat, at, 0.25 if position % 4 else 0.15)
    # 2. bass: a plucked saw on every beat, following the progression
    beats = int(length / sample_rate / beat) + 1
    for index in range(beats):
        bar = (index // 4) % 4
        frequency = root_hz * 2 ** (progression[bar] / 12)
        note_len = int(beat * 0.9 * sample_rate)
        t = np.arange(note_len) / sample_rate
        saw = signal.sawtooth(2 * np.pi * frequency * t).astype(np.float32)
        _place(
            track,
            _lowpass(saw, 400, sample_rate, 2) * np.exp(-t * 4).astype(np.float32),
            round(index * beat * sample_rate),
            0.5,
        )
    # 3. pad: a minor triad per bar, two octaves up, slow attack
    bar_index = np.minimum((t_all / (4 * beat)).astype(int) % 4, 3)
    chord_root = root_hz * 4 * 2 ** (progression[bar_index] / 12)
    phase = 2 * np.pi * np.cumsum(chord_root) / sample_rate
    pad = sum(np.sin(phase * ratio) for ratio in (1.0, 2 ** (3 / 12), 2 ** (7 / 12)))
    pad_env = np.minimum(1.0, (t_all % (4 * beat)) / 0.3)
    track += (0.12 if not calm else 0.3) * (pad * pad_env).astype(np.float32)
    return track


def strings(bpm: int | None, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A bowed string ensemble: four voices (cello to violin) holding a chord per bar, with vibrato, a slow
    bow attack and a bright-then-soft body, over a 4-bar progression; no drums."""
    beat = 60.0 / (bpm or 72)
    bar_s = 4 * beat
    t = np.arange(length) / sample_rate
    root_hz = 110.0 * 2 ** (int(rng.integers(0, 7)) / 12)  # A2 .. D#3
    progression = rng.choice([0, 5, 7, 9, 3, 8], size=4, replace=False)
    bar = np.minimum((t / bar_s).astype(int) % 4, 3)
    in_bar = t % bar_s
    bow = np.minimum(1.0, in_bar / 0.35) * np.minimum(1.0, (bar_s - in_bar) / 0.15)  # attack, release
    track = np.zeros(length, dtype=np.float32)
    for voice, (octave, interval) in enumerate(((0, 0), (1, 7), (1, 16), (2, 12))):  # cello .. violin
        semitones = progression[bar] + interval
        frequency = root_hz * 2**octave * 2 ** (semitones / 12)
        vibrato = 1 + 0.004 * np.sin(2 * np.pi * (5.2 + 0.3 * voice) * t + voice)
        phase = 2 * np.pi * np.cumsum(frequency * vibrato) / sample_rate
        tone = sum(np.sin(phase * h) / h**1.3 for h in range(1, 7))  # a bowed, saw-like spectrum
        track += (0.25 * tone * bow).astype(np.float32)
    return _lowpass(track, 4500, sample_rate, 2)


# ---- effects


def _cheer(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A crowd cheering: many voices (band-passed noise with a fast rise and a long fall) and whistles."""
    length = int(2.5 * sample_rate)
    t = np.arange(length) / sample_rate
    voices = _bandpass(_pink(length, rng), 300, 3500, sample_rate, 2)
    roar = voices * (np.minimum(1.0, t / 0.25) * np.exp(-np.maximum(t - 0.8, 0) * 1.5)).astype(np.float32)
    for _ in range(3):  # whistles
        start = rng.uniform(0.1, 1.2)
        pitch = rng.uniform(1800, 2600)
        span = (t >= start) & (t < start + 0.5)
        sweep = np.sin(2 * np.pi * pitch * (t - start) * (1 + 0.15 * (t - start)))
        roar += (0.3 * sweep * span * np.sin(np.pi * np.clip((t - start) / 0.5, 0, 1))).astype(np.float32)
    return roar.astype(np.float32)


def _whoosh(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.7 * sample_rate)
    t = np.arange(n) / sample_rate
    noise = rng.standard_normal(n).astype(np.float32)
    # a band sweeping up then down, loudest in the middle
    out = np.zeros(n, dtype=np.float32)
    chunks = 14
    for chunk_index, chunk in enumerate(np.array_split(np.arange(n), chunks)):
        centre = 400 + 2600 * np.sin(np.pi * (chunk_index + 0.5) / chunks)
        band = _bandpass(
            noise[max(chunk[0] - 256, 0) : chunk[-1] + 1], centre * 0.6, centre * 1.4, sample_rate
        )
        out[chunk] = band[-len(chunk) :]
    return (out * np.sin(np.pi * t / t[-1]) ** 2).astype(np.float32)


def _hit(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.35 * sample_rate)) / sample_rate
    thump = np.sin(2 * np.pi * (60 + 80 * np.exp(-t * 40)) * t) * np.exp(-t * 18)
    crack = _lowpass(rng.standard_normal(len(t)).astype(np.float32), 3000, sample_rate) * np.exp(-t * 60)
    return (thump + 1.5 * crack).astype(np.float32)


def _boom(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(1.8 * sample_rate)) / sample_rate
    rumble = _lowpass(rng.standard_normal(len(t)).astype(np.float32), 180, sample_rate) * 6
    return ((rumble + np.sin(2 * np.pi * 40 * t)) * np.exp(-t * 2.5) * np.minimum(1, t / 0.01)).astype(
        np.float32
    )


def _bell(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    del rng
    t = np.arange(int(1.5 * sample_rate)) / sample_rate
    partials = ((880, 1.0, 3), (880 * 2.76, 0.5, 5), (880 * 5.4, 0.25, 8))
    tone = np.zeros_like(t)
    for frequency, amplitude, decay in partials:
        tone += amplitude * np.sin(2 * np.pi * frequency * t) * np.exp(-t * decay)
    return tone.astype(np.float32)


def _beep(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    del rng
    t = np.arange(int(0.6 * sample_rate)) / sample_rate
    gate = ((t % 0.2) < 0.12).astype(np.float32)
    return (np.sin(2 * np.pi * 1000 * t) * gate).astype(np.float32)


def _splash(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.9 * sample_rate)) / sample_rate
    noise = _bandpass(rng.standard_normal(len(t)).astype(np.float32), 500, 5000, sample_rate)
    return (noise * np.exp(-t * 5) * np.minimum(1, t / 0.02)).astype(np.float32)


def _footsteps(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(int(2.0 * sample_rate), dtype=np.float32)
    step = _lowpass(_hit(sample_rate, rng), 900, sample_rate)[: int(0.12 * sample_rate)]
    for index in range(4):
        _place(out, step, int((0.05 + index * 0.5) * sample_rate), 0.8 if index % 2 else 1.0)
    return out


def _transient(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.4 * sample_rate)) / sample_rate
    noise = _bandpass(rng.standard_normal(len(t)).astype(np.float32), 200, 4000, sample_rate)
    return (noise * np.exp(-t * 12)).astype(np.float32)


SFX_KEYWORDS: tuple[tuple[tuple[str, ...], Callable[[int, np.random.Generator], np.ndarray]], ...] = (
    (("cheer", "applau", "clap", "ovation", "roar of the crowd"), _cheer),
    (("whoosh", "swoosh", "swish", "swoop", "fly by", "flyby"), _whoosh),
    (("explosion", "explode", "boom", "blast", "thunder"), _boom),
    (("hit", "punch", "thud", "slam", "impact", "knock", "crash", "bang"), _hit),
    (("bell", "ding", "chime"), _bell),
    (("beep", "alarm", "phone", "ring"), _beep),
    (("splash", "water drop", "dive"), _splash),
    (("footstep", "step", "walk"), _footsteps),
)


def effect(description: str, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """The effect a description names (first keyword that matches), else a generic short transient."""
    for words, make in SFX_KEYWORDS:
        if _has(description, *words):
            return make(sample_rate, rng)[: int(ONE_SHOT_MAX_S * sample_rate)]
    return _transient(sample_rate, rng)


# ---- ambience


def ambience(description: str, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A bed of filtered noise shaped like the place: wind, rain, waves, crowd or city; else room tone."""
    pink = _pink(length, rng)
    if _has(description, "rain", "storm", "drizzle"):
        hiss = _highpass(rng.standard_normal(length).astype(np.float32), 2500, sample_rate) * 0.6
        drops = (rng.random(length) < 40 / sample_rate).astype(np.float32) * rng.uniform(
            0.5, 1.5, length
        ).astype(np.float32)
        drops = _bandpass(drops, 1500, 7000, sample_rate) * 12
        return hiss + drops + 0.3 * _lowpass(pink, 500, sample_rate)
    if _has(description, "wave", "ocean", "sea", "surf", "beach", "shore"):
        return _lowpass(pink, 1200, sample_rate) * _slow_swell(length, sample_rate, rng, 4.0, 0.85)
    if _has(description, "bird", "forest", "woods", "park", "garden", "meadow"):
        wind = _lowpass(pink, 500, sample_rate) * _slow_swell(length, sample_rate, rng, 3.0, 0.6)
        chirps = np.zeros(length, dtype=np.float32)
        for _ in range(max(int(length / sample_rate * 2.5), 1)):
            start, pitch = int(rng.uniform(0, length)), rng.uniform(2500, 5000)
            t = np.arange(int(0.09 * sample_rate)) / sample_rate
            chirp = np.sin(2 * np.pi * pitch * t * (1 + 2.5 * t)) * np.sin(np.pi * t / t[-1])
            _place(chirps, (chirp * 3.0).astype(np.float32), start, 1.0)
        return wind + chirps
    if _has(description, "wind", "breeze", "gust", "snow", "desert", "dune"):
        whistle = _bandpass(pink, 300, 900, sample_rate, 2) * _slow_swell(length, sample_rate, rng, 1.5, 0.7)
        return _lowpass(pink, 400, sample_rate) * _slow_swell(length, sample_rate, rng, 3.0, 0.6) + whistle
    if _has(description, "crowd", "chatter", "cafe", "café", "party", "audience", "market", "restaurant"):
        babble = _bandpass(pink, 300, 3000, sample_rate, 2)
        return babble * _slow_swell(length, sample_rate, rng, 0.25, 0.5)
    if _has(description, "city", "traffic", "street", "road", "car"):
        rumble = _lowpass(pink, 250, sample_rate) * _slow_swell(length, sample_rate, rng, 2.5, 0.5)
        return rumble + 0.2 * _bandpass(pink, 800, 3000, sample_rate) * _slow_swell(
            length, sample_rate, rng, 0.8, 0.9
        )
    if _has(description, "space", "moon", "hum", "station"):
        hum = np.sin(2 * np.pi * 55.0 * np.arange(length) / sample_rate).astype(np.float32) * 0.5
        return _lowpass(pink, 300, sample_rate) + hum
    return _lowpass(pink, 2000, sample_rate)
