"""Sound: voice matching (espeak + Resemblyzer), the mix (placement, levels, limiter, determinism) and lip
sync (mouth opening re-measured by dlib landmarks follows the speech). Real espeak-ng, real Resemblyzer
weights and real photos; nothing is downloaded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ml.audio import cues as cue_sounds
from ml.audio.lipsync import apply_lipsync, speech_envelope
from ml.audio.mix import CEILING_DBFS, MAX_STRETCH, MIX_SAMPLE_RATE, db_to_gain, limit, render_soundtrack
from ml.audio.tts import DEFAULT_VOICE, EspeakSynthesizer, VoiceChoice
from ml.identity.face import FaceAnalyzer
from ml.identity.voice import voice_similarity
from ml.scene import AudioCue, CueKind, DialogueLine, SceneSpec
from tests.fixtures.recordings import photo

CEILING = db_to_gain(CEILING_DBFS)
TARGET_TEXT = "My name is on the list, and I would like to talk about the weather this evening."
DIALOGUE_TEXT = "Good morning everybody, the coffee is ready and the train leaves at nine."


@pytest.fixture(scope="module")
def synth() -> EspeakSynthesizer:
    return EspeakSynthesizer()


def spec_with(dialogue=(), cues=(), duration: float = 4.0, seed: int = 0) -> SceneSpec:
    return SceneSpec(text="@maya on a beach", dialogue=dialogue, cues=cues, duration=duration, seed=seed)


def test_a_line_sounds_in_its_window_and_nowhere_else(synth) -> None:
    line = DialogueLine("maya", "Hello there, how are you?", 1.0, 2.5)

    track = render_soundtrack(spec_with((line,)), {"maya": None}, synth)

    audio, rate = track.audio, track.sample_rate
    assert rate == MIX_SAMPLE_RATE and audio.shape == (4 * rate,) and audio.dtype == np.float32
    inside = audio[int(1.0 * rate) : int(2.5 * rate)]
    assert np.sqrt(np.mean(inside**2)) > 0.03  # speech at about -18 dBFS RMS
    assert np.max(np.abs(audio[: int(1.0 * rate)])) == 0.0
    assert np.max(np.abs(audio[int(2.5 * rate) :])) == 0.0
    assert np.max(np.abs(audio)) <= CEILING + 1e-6
    assert track.lines[0].stretch == 1.0 and track.lines[0].cut_s == 0.0


def test_a_line_too_long_for_its_window_is_sped_up_then_cut(synth) -> None:
    line = DialogueLine("maya", DIALOGUE_TEXT, 0.5, 1.5)

    spoken = render_soundtrack(spec_with((line,)), {"maya": None}, synth).lines[0]

    assert spoken.samples.shape == (MIX_SAMPLE_RATE,)
    assert spoken.stretch == MAX_STRETCH and spoken.cut_s > 0.5
    tail = spoken.samples[-int(0.005 * MIX_SAMPLE_RATE) :]
    assert np.max(np.abs(tail)) < 0.1 * np.max(np.abs(spoken.samples))  # faded out, not chopped


def test_a_crowded_loud_mix_never_clips_and_has_the_spec_length(synth) -> None:
    cues = (
        AudioCue(CueKind.MUSIC, "pounding drum & bass (170 BPM)", 0.0, None),
        AudioCue(CueKind.MUSIC, "second song", 0.5, 3.0),
        AudioCue(CueKind.AMBIENCE, "heavy rain and wind", 0.0, None),
        AudioCue(CueKind.AMBIENCE, "crowd", 1.0, None),
        *(AudioCue(CueKind.SFX, kind, 1.2, None) for kind in ("explosion", "punch", "whoosh", "bell", "zap")),
    )
    lines = (DialogueLine("maya", "Watch out!", 1.1, 2.0), DialogueLine("noor", "Run!", 1.2, 2.0))

    track = render_soundtrack(
        spec_with(lines, cues, duration=3.7, seed=9), {"maya": None, "noor": None}, synth
    )

    assert track.audio.shape == (round(3.7 * MIX_SAMPLE_RATE),)
    assert np.max(np.abs(track.audio)) <= CEILING + 1e-6
    assert np.sqrt(np.mean(track.audio**2)) > 0.05  # the limiter held peaks, it did not mute the mix


@pytest.mark.parametrize("seed", range(5))
def test_the_limiter_holds_any_hot_signal_under_the_ceiling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(MIX_SAMPLE_RATE) / MIX_SAMPLE_RATE
    hot = (rng.normal(0, 1.5, len(t)) + 4 * np.sin(2 * np.pi * 60 * t) * (t > 0.5)).astype(np.float32)

    limited = limit(hot, MIX_SAMPLE_RATE)

    assert np.max(np.abs(limited)) <= CEILING + 1e-6
    quiet = hot * (0.5 * CEILING / np.max(np.abs(hot)))
    assert np.allclose(limit(quiet, MIX_SAMPLE_RATE), quiet, atol=1e-6)  # below the ceiling: untouched


def test_same_seed_same_samples_other_seed_other_cues(synth) -> None:
    cues = (AudioCue(CueKind.MUSIC, "lofi beat", 0.0, None), AudioCue(CueKind.AMBIENCE, "city", 0.0, None))
    line = (DialogueLine("maya", "Same again.", 0.5, 1.5),)

    first = render_soundtrack(spec_with(line, cues, seed=3), {"maya": None}, synth).audio
    again = render_soundtrack(spec_with(line, cues, seed=3), {"maya": None}, synth).audio
    other = render_soundtrack(spec_with(line, cues, seed=4), {"maya": None}, synth).audio

    assert np.array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-3)


def _beat_period_s(track: np.ndarray, rate: int) -> float:
    """The strongest repetition period of the low-band energy between 0.3 and 1.0 s."""
    low = cue_sounds._lowpass(track, 200, rate)
    hop = rate // 100
    envelope = np.sqrt(np.convolve(low**2, np.ones(hop) / hop, "same"))[::hop]
    envelope = envelope - envelope.mean()
    correlation = np.correlate(envelope, envelope, "full")[len(envelope) - 1 :]
    lags = np.arange(30, 100)
    return float(lags[np.argmax(correlation[lags])] / 100)


@pytest.mark.parametrize(("description", "beat_s"), [("house music at 120 BPM", 0.5), ("a beat", 0.6)])
def test_music_follows_the_cues_tempo(description: str, beat_s: float) -> None:
    cue = AudioCue(CueKind.MUSIC, description, 0.0, None)
    rate = 16_000

    track = cue_sounds.music(cue.description, cue.bpm, 8 * rate, rate, np.random.default_rng(0))

    period = _beat_period_s(track, rate)
    # the loop repeats every beat; its multiples also correlate, so accept the beat or twice it
    assert min(abs(period - beat_s), abs(period - 2 * beat_s)) <= 0.02, period


def _centroid_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return float((spectrum * freqs).sum() / spectrum.sum())


def test_ambience_and_effects_sound_like_their_keywords() -> None:
    rate, rng = 16_000, np.random.default_rng
    rain = cue_sounds.ambience("rain on the roof", 3 * rate, rate, rng(1))
    waves = cue_sounds.ambience("waves on the shore", 3 * rate, rate, rng(1))
    whoosh = cue_sounds.effect("a whoosh", rate, rng(1))
    boom = cue_sounds.effect("a distant explosion", rate, rng(1))

    assert _centroid_hz(rain, rate) > 2 * _centroid_hz(waves, rate)
    assert _centroid_hz(whoosh, rate) > 4 * _centroid_hz(boom, rate)
    assert len(boom) > 2 * len(whoosh)  # an explosion rumbles on; a whoosh passes


def test_the_matched_voice_is_closer_to_the_cameo_than_espeaks_default(synth) -> None:
    cameo = VoiceChoice("f3", 70, 160)  # the "cameo": a voice espeak can produce, saying other words
    target = synth._embedding_of(synth.speak(TARGET_TEXT, cameo, sample_rate=16_000))

    matched = synth.match_voice(target)

    def similarity(voice: VoiceChoice) -> float:
        # judged on a sentence neither the cameo recording nor the calibration used
        return voice_similarity(
            synth._embedding_of(synth.speak(DIALOGUE_TEXT, voice, sample_rate=16_000)), target
        )

    assert similarity(matched) > similarity(DEFAULT_VOICE) + 0.15
    assert similarity(matched) > 0.8
    assert synth.match_voice(target.copy()) is matched  # cached per embedding
    mixed = synth.synthesize(DIALOGUE_TEXT, target, sample_rate=16_000)
    assert np.array_equal(mixed, synth.speak(DIALOGUE_TEXT, matched, sample_rate=16_000))


def test_match_voice_refuses_an_empty_embedding(synth) -> None:
    with pytest.raises(ValueError, match="non-zero"):
        synth.match_voice(np.zeros(256, np.float32))


@pytest.fixture(scope="module")
def talking_head() -> np.ndarray:
    """The astronaut's face, cropped to 256x256 with the face about half the height."""
    image = photo("astronaut")
    box = FaceAnalyzer(detect_max_side=1400).detect(image)[0].box
    cx, cy, half = (box.left + box.right) / 2, (box.top + box.bottom) / 2, box.height * 1.1
    crop = image[int(cy - half) : int(cy + half), int(cx - half) : int(cx + half)]
    return cv2.resize(crop, (256, 256), interpolation=cv2.INTER_AREA)


def test_lipsync_opens_the_mouth_with_the_speech(synth, talking_head) -> None:
    fps = 24
    line = DialogueLine("maya", "Hello there, one two three, I am talking now.", 0.5, 3.0)
    track = render_soundtrack(spec_with((line,), duration=3.5), {"maya": None}, synth)
    frames = np.repeat(talking_head[None], round(3.5 * fps), axis=0)

    result = apply_lipsync(frames, fps, track.lines, track.sample_rate, speakers=["maya"])

    synced = result.lines[0]
    assert synced.face_found and "no face" not in synced.note
    outside = np.setdiff1d(np.arange(len(frames)), synced.frame_indices)
    assert np.array_equal(result.frames[outside], frames[outside])
    # re-measure: dlib's landmarks on the output frames see the mouth open and close with the speech
    analyzer = FaceAnalyzer()
    box = analyzer.detect(cv2.resize(talking_head, (512, 512)))[0].box
    measured = np.array(
        [
            analyzer.observe(cv2.resize(result.frames[i], (512, 512)), box).mouth_openness
            for i in synced.frame_indices
        ]
    )
    envelope = speech_envelope(
        track.lines[0].samples, track.sample_rate, synced.frame_indices / fps - 0.5, 1 / fps
    )
    assert np.corrcoef(measured, envelope)[0, 1] > 0.7
    assert measured.max() - measured.min() > 0.1


def test_lipsync_without_a_face_passes_frames_through_and_says_so(synth) -> None:
    cat = cv2.resize(photo("cat"), (128, 128))
    line = DialogueLine("maya", "Meow.", 0.0, 1.0)
    track = render_soundtrack(spec_with((line,), duration=1.0), {"maya": None}, synth)
    frames = np.repeat(cat[None], 12, axis=0)

    result = apply_lipsync(frames, 12, track.lines, track.sample_rate, speakers=["maya"])

    assert result.frames is frames
    assert not result.lines[0].face_found
    assert result.report == ("@maya line 1: no face found in 12 frames; frames unchanged",)


def test_lipsync_moves_the_speakers_face_found_by_embedding(synth, talking_head) -> None:
    from ml.identity.face import DlibFaceEmbedder

    other = cv2.resize(photo("t1_2"), (256, 256), interpolation=cv2.INTER_CUBIC)
    analyzer, embedder = FaceAnalyzer(), DlibFaceEmbedder()
    noor_face = analyzer.detect(other, upsample=1)
    assert noor_face, "the fixture photo must show a face"
    noor_embedding = embedder.embed(other, noor_face[:1])[0]
    frames = np.repeat(
        np.concatenate([talking_head, other], axis=1)[None], 24, axis=0
    )  # maya left, noor right
    line = DialogueLine("noor", "Hello, it is me talking now.", 0.0, 2.0)
    track = render_soundtrack(spec_with((line,), duration=2.0), {"noor": None}, synth)

    # mention order says noor is the left face; the embedding says right, and wins
    result = apply_lipsync(
        frames,
        12,
        track.lines,
        track.sample_rate,
        speakers=["noor", "maya"],
        face_embeddings={"noor": noor_embedding},
    )

    assert result.lines[0].face_found
    assert np.array_equal(result.frames[:, :, :256], frames[:, :, :256])
    assert not np.array_equal(result.frames[:, :, 256:], frames[:, :, 256:])
