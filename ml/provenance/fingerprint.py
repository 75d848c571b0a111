"""A perceptual fingerprint of a video: what stays the same when a copy is re-encoded, rescaled or trimmed.

Video: a 64-bit DCT pHash of the frame at every ``STEP_S`` (grey, 32x32, the 8x8 lowest frequencies but DC,
each bit "above the median"); scale- and codec-proof because it sees only coarse structure. Audio: every
``AUDIO_STEP_S`` a 32-bit word from the energies of 33 log-spaced bands (Haitsma-Kalker: bit m is the sign of the
band-energy difference between bands m, m+1, minus the same at the previous step), so gain changes and the
codec's fine detail do not flip bits.

``match`` slides one fingerprint against the other (trims shift the timeline) and takes the offset with the
fewest differing bits; two files are the same video when the video bit error rate is under
``VIDEO_MAX_BER`` and, when both have audio, the audio one is under ``AUDIO_MAX_BER``. Serialised form:
``"vfp1:" + base64url(header + hashes)``, about 1.2 KB for 8 s.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.fft import dctn

STEP_S = 0.25  # one video hash per quarter second
AUDIO_STEP_S = 0.05  # one audio word per 50 ms: a trim lines up within 25 ms, well inside a 0.37 s window
AUDIO_RATE = 8_000  # audio is hashed at 8 kHz: bands up to 3.5 kHz, where codecs keep the energy
AUDIO_WINDOW_S = 0.37  # Haitsma-Kalker's frame length (overlapping: one per STEP_S)
AUDIO_BANDS = 33  # -> 32 bits a word
VIDEO_MAX_BER = 0.2  # pHash: the same frame re-encoded differs in ~0-10 % of bits, other frames ~50 %
AUDIO_MAX_BER = 0.3  # Haitsma-Kalker's threshold was 0.35 for 3 s blocks; ours are coarser
MAX_OFFSET_S = 2.0  # trims up to this much (either end) still line up
MIN_OVERLAP = 4  # fewer common steps than this is no evidence either way
PREFIX = "vfp1:"
_HEADER = struct.Struct("<HHHH")  # video and audio steps in ms, number of video hashes, of audio words


@dataclass(frozen=True, eq=False)
class Fingerprint:
    video: np.ndarray  # (T,) uint64 pHashes, one per STEP_S from 0
    audio: np.ndarray  # (A,) uint32 band-energy words, one per AUDIO_STEP_S from 0; empty without audio

    def serialise(self) -> str:
        payload = _HEADER.pack(
            round(STEP_S * 1000), round(AUDIO_STEP_S * 1000), len(self.video), len(self.audio)
        )
        payload += self.video.astype("<u8").tobytes() + self.audio.astype("<u4").tobytes()
        return PREFIX + base64.urlsafe_b64encode(payload).decode("ascii")

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        if not text.startswith(PREFIX):
            raise ValueError(f"not a fingerprint: {text[:12]!r} does not start with {PREFIX!r}")
        payload = base64.urlsafe_b64decode(text[len(PREFIX) :])
        steps_ms = _HEADER.unpack_from(payload)[:2]
        video_n, audio_n = _HEADER.unpack_from(payload)[2:]
        expected_steps = (round(STEP_S * 1000), round(AUDIO_STEP_S * 1000))
        if steps_ms != expected_steps or len(payload) != _HEADER.size + 8 * video_n + 4 * audio_n:
            raise ValueError(f"fingerprint of another layout (steps {steps_ms} ms, {len(payload)} bytes)")
        video = np.frombuffer(payload, "<u8", video_n, _HEADER.size).astype(np.uint64)
        audio = np.frombuffer(payload, "<u4", audio_n, _HEADER.size + 8 * video_n).astype(np.uint32)
        return cls(video=video, audio=audio)


@dataclass(frozen=True)
class FingerprintMatch:
    video_ber: float  # bit error rate at the best offset, 0 (same) .. ~0.5 (unrelated)
    audio_ber: float | None  # None when either has no audio
    offset_s: float  # how far b's timeline is shifted against a's at the best alignment
    is_match: bool

    @property
    def score(self) -> float:
        """1 for identical, ~0 for unrelated."""
        bers = [self.video_ber] + ([self.audio_ber] if self.audio_ber is not None else [])
        return float(max(0.0, 1.0 - 2.0 * float(np.mean(bers))))


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash of an (H, W, 3) uint8 RGB image."""
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = dctn(small, norm="ortho")[:8, :8].reshape(-1)[1:]  # 63 coefficients without DC
    bits = np.append(low > np.median(low), False)  # (64,)
    return int(np.packbits(bits).view(">u8")[0])


def video_hashes(frames: np.ndarray, fps: float) -> np.ndarray:
    """(T,) uint64: the pHash of the frame shown at each multiple of STEP_S."""
    duration = len(frames) / fps
    times = np.arange(0.0, duration - 1e-9, STEP_S)
    return np.array(
        [phash(frames[min(int(t * fps + 1e-6), len(frames) - 1)]) for t in times], dtype=np.uint64
    )


def audio_words(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(A,) uint32 Haitsma-Kalker words of mono ``audio``, one per AUDIO_STEP_S."""
    from scipy import signal

    if len(audio) == 0:
        return np.zeros(0, dtype=np.uint32)
    divisor = int(np.gcd(sample_rate, AUDIO_RATE))
    audio = signal.resample_poly(audio.astype(np.float32), AUDIO_RATE // divisor, sample_rate // divisor)
    window, hop = int(AUDIO_WINDOW_S * AUDIO_RATE), int(AUDIO_STEP_S * AUDIO_RATE)
    count = int(np.ceil(len(audio) / hop))
    padded = np.pad(audio, (window // 2, window))
    frames = np.stack([padded[i * hop : i * hop + window] for i in range(count)])  # (A, window)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(window), axis=1)) ** 2  # (A, window // 2 + 1)
    freqs = np.fft.rfftfreq(window, 1.0 / AUDIO_RATE)
    edges = np.geomspace(200.0, 3500.0, AUDIO_BANDS + 1)
    bands = np.stack(
        [spectrum[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for lo, hi in itertools.pairwise(edges)],
        axis=1,
    )  # (A, 33)
    energy = np.log(bands + 1e-10)
    diff = energy[:, :-1] - energy[:, 1:]  # (A, 32)
    bits = np.vstack([np.zeros((1, 32), bool), (diff[1:] - diff[:-1]) > 0])  # (A, 32)
    return np.packbits(bits, axis=1).view(">u4").reshape(-1).astype(np.uint32)


def fingerprint(
    frames: np.ndarray, fps: float, audio: np.ndarray | None = None, sample_rate: int = 16_000
) -> Fingerprint:
    """Fingerprint of (F, H, W, 3) uint8 frames at ``fps`` and optional mono audio."""
    words = audio_words(audio, sample_rate) if audio is not None else np.zeros(0, dtype=np.uint32)
    return Fingerprint(video=video_hashes(frames, fps), audio=words)


def fingerprint_file(path: str | Path) -> Fingerprint:
    """Fingerprint of a video file, decoded with PyAV (frames at ~1/STEP_S, audio at 16 kHz)."""
    from ml.media import MediaError, extract_audio, probe, sample_frames

    info = probe(path)
    samples = sample_frames(path, fps=1.0 / STEP_S, max_side=256, info=info)
    hashes = np.array([phash(frame) for frame in samples.frames], dtype=np.uint64)
    audio = np.zeros(0, dtype=np.float32)
    if info.audio is not None:
        with contextlib.suppress(MediaError):
            audio = extract_audio(path, info=info)
    return Fingerprint(video=hashes, audio=audio_words(audio, 16_000))


def _popcount(values: np.ndarray) -> np.ndarray:
    as_bytes = values.view(np.uint8).reshape(len(values), -1)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1)


def _ber_at(a: np.ndarray, b: np.ndarray, offset: int, bits: int) -> float | None:
    """Mean fraction of differing bits where a[i] aligns with b[i - offset]; None with too little overlap."""
    a_part = a[max(offset, 0) : len(a) + min(offset, 0)]
    b_part = b[max(-offset, 0) : len(b) + min(-offset, 0)]
    n = min(len(a_part), len(b_part))
    if n < MIN_OVERLAP:
        return None
    return float(_popcount(np.bitwise_xor(a_part[:n], b_part[:n])).mean()) / bits


def _best_offset(a: np.ndarray, b: np.ndarray, bits: int, offsets: range) -> tuple[float, int]:
    """(lowest bit error rate, its offset) over ``offsets``; 0.5 (chance) when none overlaps enough."""
    best = (0.5, 0)
    for offset in offsets:
        ber = _ber_at(a, b, offset, bits)
        if ber is not None and ber < best[0]:
            best = (ber, offset)
    return best


def match(a: Fingerprint | str, b: Fingerprint | str) -> FingerprintMatch:
    """Whether ``a`` and ``b`` are the same video (re-encoded, rescaled or trimmed a little)."""
    fa = Fingerprint.parse(a) if isinstance(a, str) else a
    fb = Fingerprint.parse(b) if isinstance(b, str) else b
    max_steps = round(MAX_OFFSET_S / STEP_S)
    video_ber, offset = _best_offset(fa.video, fb.video, 64, range(-max_steps, max_steps + 1))
    audio_ber = None
    if len(fa.audio) >= MIN_OVERLAP and len(fb.audio) >= MIN_OVERLAP:
        # the audio must line up where the video does, within a video step (frame times are quantised)
        per_step = round(STEP_S / AUDIO_STEP_S)
        near = range((offset - 1) * per_step, (offset + 1) * per_step + 1)
        audio_ber = _best_offset(fa.audio, fb.audio, 32, near)[0]
    is_match = video_ber < VIDEO_MAX_BER and (audio_ber is None or audio_ber < AUDIO_MAX_BER)
    return FingerprintMatch(
        video_ber=video_ber, audio_ber=audio_ber, offset_s=offset * STEP_S, is_match=is_match
    )
