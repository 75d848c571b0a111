"""Secrets: one per install, and keys derived from it, one per purpose.

An install that is not given `DJANGO_SECRET_KEY` (the embedded default) makes its own on first run and
keeps it in its data folder, so no two installs share a secret and none is in the repository. Each use
(JWTs, media tokens) signs with its own key derived from that secret, so a key leaked or weakened in one
use (an HS256 JWT can be brute-forced offline against a weak key) says nothing about the others.

Imported by the settings: nothing here may import Django.
"""

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_KEY_FILE_NAME = "secret_key"


def derive_key(secret: str, purpose: str, *, length: int = 32) -> bytes:
    """A key for one `purpose` (e.g. "jwt"), derived from the install's secret with HKDF-SHA256."""
    if not secret:
        raise ValueError("derive_key needs a non-empty secret")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=f"sora-social/{purpose}".encode())
    return hkdf.derive(secret.encode())


def derive_key_text(secret: str, purpose: str) -> str:
    """`derive_key` as URL-safe base64 text, for settings that take a string key (SIMPLE_JWT)."""
    return base64.urlsafe_b64encode(derive_key(secret, purpose)).decode()


def data_folder_secret_key(folder: Path) -> str:
    """The secret kept in `folder/secret_key` (mode 0600), created with 64 random bytes on first use.

    Web and worker processes start together and may race to create it: the key is written to a private
    temporary file and hard-linked into place, which fails if another process got there first; the loser
    then reads the winner's key, so every process of the install ends up with the same one."""
    path = folder / SECRET_KEY_FILE_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{SECRET_KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(64))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < 50:
        raise RuntimeError(
            f"{path} holds no usable secret (under 50 characters): delete it to make a new one"
        )
    return key
