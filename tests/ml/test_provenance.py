"""Provenance: the moving watermark, C2PA signing and validation (dev CA as trust anchor, a flipped byte
breaks it), and the perceptual fingerprint (re-encoded, rescaled and trimmed copies match; other videos
do not). Videos are built from real photos with camera motion and real espeak speech; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ml.media.encode import write_mp4
from ml.provenance import c2pa as provenance
from ml.provenance.c2pa import DIGITAL_SOURCE_TYPE, Featured, SigningConfig, verify
from ml.provenance.fingerprint import (
    Fingerprint,
    FingerprintMatch,
    fingerprint,
    fingerprint_file,
    match,
)
from ml.provenance.watermark import WatermarkStyle, apply_watermark, mark_size_px, position, render_mark
from tests.fixtures.recordings import photo, speak

FPS = 12
DURATION_S = 4.0


# ---- watermark


@pytest.mark.parametrize("size", [(144, 256), (1280, 720)])  # (H, W): a thumbnail, and 720p portrait
def test_watermark_is_on_every_frame_moves_and_contrasts(size: tuple[int, int]) -> None:
    height, width = size
    frames = np.full((3, height, width, 3), 128, dtype=np.uint8)
    fps = 0.2  # frames 5 s apart

    marked = apply_watermark(frames.copy(), fps)

    boxes = []
    for frame in marked:
        changed = np.argwhere(np.any(frame != 128, axis=2))  # (N, 2) y, x
        assert len(changed) > 0
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
        boxes.append((top, left))
        text_height = bottom - top
        assert text_height >= 11  # legible on a thumbnail
        patch = frame[top : bottom + 1, left : right + 1].mean(axis=2)
        assert patch.max() > 220 and patch.min() < 40  # white text, dark outline: reads on any background
    assert len(set(boxes)) == 3  # it moved between every two frames
    assert np.array_equal(apply_watermark(frames.copy(), fps), marked)  # deterministic


def test_watermark_stays_inside_the_frame_along_its_whole_path() -> None:
    style = WatermarkStyle()
    width, height = 480, 854
    mark = render_mark(style.text, mark_size_px((width, height), style), style.opacity)
    for t in np.arange(0, 60, 0.25):
        x, y = position(float(t), (width, height), (mark.shape[1], mark.shape[0]), style)
        assert x >= 0 and x + mark.shape[1] <= width and y >= 0 and y + mark.shape[0] <= height


# ---- C2PA


@pytest.fixture(scope="module")
def plain_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("c2pa")
    frames = np.random.default_rng(0).integers(0, 256, (12, 64, 64, 3), dtype=np.uint8)
    return write_mp4(folder / "plain.mp4", frames, fps=12, audio=np.zeros(16_000, np.float32))


def manifest() -> dict:
    return provenance.build_manifest(
        title="video.mp4",
        engine="diffusers_consisid",
        checkpoint_sha256="ab" * 32,
        featured=[Featured("maya", "cameo-1"), Featured("noor", None)],
        seed=42,
    )


def test_signed_mp4_is_valid_trusted_with_the_dev_ca_and_says_ai_generated(plain_mp4, tmp_path: Path) -> None:
    config = SigningConfig(dev_dir=tmp_path / "dev")

    signed = provenance.sign_mp4(plain_mp4, tmp_path / "signed.mp4", manifest(), config)

    untrusted = verify(signed)
    assert untrusted.state == "Valid" and untrusted.failures == ("signingCredential.untrusted",)
    trusted = verify(signed, trust_anchors=[tmp_path / "dev" / provenance.DEV_CA_NAME])
    assert trusted.state == "Trusted" and trusted.failures == () and trusted.ok
    assert trusted.ai_generated
    assert trusted.generation["engine"] == "diffusers_consisid"
    assert trusted.generation["checkpoint_sha256"] == "ab" * 32
    assert trusted.generation["cameos"] == [
        {"handle": "maya", "cameo_id": "cameo-1"},
        {"handle": "noor", "cameo_id": None},
    ]
    with av.open(str(signed)) as container:  # still a normal mp4
        assert len(list(container.decode(video=0))) == 12
    assert verify(plain_mp4).state == "NoManifest"


def test_one_flipped_byte_makes_the_manifest_invalid(plain_mp4, tmp_path: Path) -> None:
    config = SigningConfig(dev_dir=tmp_path / "dev")
    signed = provenance.sign_mp4(plain_mp4, tmp_path / "signed.mp4", manifest(), config)
    data = bytearray(signed.read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 64] ^= 0x01  # one bit of the media data
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))

    result = verify(tampered, trust_anchors=[tmp_path / "dev" / provenance.DEV_CA_NAME])

    assert result.state == "Invalid" and not result.ok
    assert "assertion.bmffHash.mismatch" in result.failures


def test_dev_credentials_have_the_c2pa_profile_and_are_made_once(tmp_path: Path) -> None:
    ca_path, chain_path, key_path = provenance.ensure_dev_credentials(tmp_path)
    again = provenance.ensure_dev_credentials(tmp_path)

    assert again == (ca_path, chain_path, key_path)
    assert ca_path.read_bytes() == again[0].read_bytes()
    signer, ca = x509.load_pem_x509_certificates(chain_path.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    signer_constraints = signer.extensions.get_extension_for_class(x509.BasicConstraints)
    assert signer_constraints.critical and not signer_constraints.value.ca
    signer_usage = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert (
        signer_usage.critical
        and signer_usage.value.digital_signature
        and not signer_usage.value.key_cert_sign
    )
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    aki = signer.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"


def test_production_paths_are_used_when_given(plain_mp4, tmp_path: Path) -> None:
    _, chain_path, key_path = provenance.ensure_dev_credentials(tmp_path / "issued")
    config = SigningConfig(cert_chain_path=chain_path, private_key_path=key_path, dev_dir=tmp_path / "unused")

    signed = provenance.sign_mp4(plain_mp4, tmp_path / "signed.mp4", manifest(), config)

    assert not (tmp_path / "unused").exists()  # no dev CA was made
    assert verify(signed, trust_anchors=[tmp_path / "issued" / provenance.DEV_CA_NAME]).state == "Trusted"
    with pytest.raises(ValueError, match="both cert_chain_path and private_key_path"):
        SigningConfig(cert_chain_path=chain_path)


def test_manifest_records_the_iptc_source_type() -> None:
    actions = manifest()["assertions"][0]
    assert actions["label"] == "c2pa.actions"
    assert actions["data"]["actions"][0] == {
        "action": "c2pa.created",
        "digitalSourceType": DIGITAL_SOURCE_TYPE,
        "softwareAgent": {"name": "diffusers_consisid"},
        "parameters": {"checkpoint_sha256": "ab" * 32},
    }
    assert DIGITAL_SOURCE_TYPE.endswith("/trainedAlgorithmicMedia")


# ---- fingerprint


def scene_video(name: str, motion: float, voice: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 16 kHz audio): a real photo under a slow zoom and pan, a spoken line and a hum, with the
    product watermark (every real output has it, so it must not make different videos alike)."""
    image = cv2.resize(photo(name), (320, 320), interpolation=cv2.INTER_AREA)
    count = round(DURATION_S * FPS)
    frames = np.empty((count, 192, 192, 3), dtype=np.uint8)
    for index in range(count):
        progress = index / count
        zoom = 1.0 + 0.3 * progress
        matrix = cv2.getRotationMatrix2D((160, 160), 0.0, zoom)
        matrix[0, 2] += motion * 60 * progress
        frames[index] = cv2.resize(cv2.warpAffine(image, matrix, (320, 320)), (192, 192))
    frames = apply_watermark(frames, FPS)
    speech = speak(text, voice)
    audio = np.zeros(round(DURATION_S * 16_000), dtype=np.float32)
    audio[8000 : 8000 + len(speech)] = speech[: len(audio) - 8000]
    audio += 0.05 * np.sin(2 * np.pi * 110 * np.arange(len(audio)) / 16_000).astype(np.float32)
    return frames, audio


SCENES = {
    "astronaut": ("astronaut", 1.0, "en+m3", "Ground control, the view from up here is amazing."),
    "tom": ("tom_hanks", -1.0, "en+m1", "Life was like a box of chocolates, my mother said."),
    "t1": ("t1_2", 0.5, "en+f2", "Welcome back to the show, everybody, take a seat."),
    "cat": ("cat", -0.5, "en+f4", "The cat sat on the mat and looked at the rain."),
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The originals, and of the astronaut: a CRF 36 copy, a half-size copy, and one trimmed by 0.4 s."""
    folder = tmp_path_factory.mktemp("fingerprint")
    paths = {}
    for key, (name, motion, voice, text) in SCENES.items():
        frames, audio = scene_video(name, motion, voice, text)
        paths[key] = write_mp4(folder / f"{key}.mp4", frames, fps=FPS, audio=audio, crf=18)
        if key == "astronaut":
            paths["crf36"] = write_mp4(folder / "crf36.mp4", frames, fps=FPS, audio=audio, crf=36)
            small = np.stack([cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA) for f in frames])
            paths["half"] = write_mp4(folder / "half.mp4", small, fps=FPS, audio=audio)
            trim_frames, trim_samples = round(0.4 * FPS), round(0.4 * 16_000)
            paths["trimmed"] = write_mp4(
                folder / "trimmed.mp4", frames[trim_frames:], fps=FPS, audio=audio[trim_samples:]
            )
    return paths


@pytest.fixture(scope="module")
def prints(videos: dict[str, Path]) -> dict[str, Fingerprint]:
    return {key: fingerprint_file(path) for key, path in videos.items()}


@pytest.mark.parametrize("copy", ["crf36", "half", "trimmed"])
def test_a_reencoded_rescaled_or_trimmed_copy_matches(prints, copy: str) -> None:
    result = match(prints["astronaut"], prints[copy])

    assert result.is_match, result
    assert result.video_ber < 0.15 and result.audio_ber is not None and result.audio_ber < 0.2
    if copy == "trimmed":
        assert result.offset_s == pytest.approx(0.5, abs=0.26)  # 0.4 s, on the 0.25 s grid


@pytest.mark.parametrize("other", ["tom", "t1", "cat"])
def test_other_videos_do_not_match(prints, other: str) -> None:
    for original in ("astronaut", "crf36", "trimmed"):
        result: FingerprintMatch = match(prints[original], prints[other])
        assert not result.is_match, (original, other, result)
        assert result.video_ber > 0.25


def test_fingerprint_serialises_compactly_and_parses_back(prints) -> None:
    text = prints["astronaut"].serialise()

    parsed = Fingerprint.parse(text)

    assert np.array_equal(parsed.video, prints["astronaut"].video)
    assert np.array_equal(parsed.audio, prints["astronaut"].audio)
    assert len(parsed.video) == round(DURATION_S / 0.25) and len(text) < 1000
    assert match(text, prints["astronaut"].serialise()).score == 1.0
    with pytest.raises(ValueError, match="not a fingerprint"):
        Fingerprint.parse("abc")


def test_in_memory_fingerprint_agrees_with_the_decoded_file(videos, prints) -> None:
    frames, audio = scene_video(*SCENES["astronaut"])

    in_memory = fingerprint(frames, FPS, audio, 16_000)

    assert match(in_memory, prints["astronaut"]).is_match
