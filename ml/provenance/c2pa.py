"""Sign generated mp4s with a C2PA manifest that says they are AI-generated, and read manifests back.

The manifest records: a ``c2pa.actions`` assertion with ``c2pa.created`` and the IPTC digital source type
``trainedAlgorithmicMedia`` (what C2PA readers and platforms show as "made with AI"), the engine name and
checkpoint sha256 (also as the action's ``softwareAgent`` and parameters), and the cameos featured (ids and
handles) in a product assertion.

Signing keys: production passes the certificate chain (PEM, end-entity first) and private key paths in
``SigningConfig`` (the Django side reads them from settings). Without them a development CA and signing
certificate are generated on first use into ``SigningConfig.dev_dir`` (var/c2pa/ by default), with the
profile C2PA validators accept: CA (P-256, CA=True critical, keyCertSign + cRLSign critical, SKI) and an
end-entity (P-256, CA=False critical, digitalSignature only critical, EKU emailProtection, SKI, AKI). A
dev-signed file validates as ``Valid`` (its signer is untrusted) and as ``Trusted`` where the dev CA is
given as a trust anchor; readers elsewhere will show it as untrusted, which is right for a dev key.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
PRODUCT_ASSERTION = "social.sora.generation"  # our own assertion label (reverse-DNS, as C2PA asks)
CLAIM_GENERATOR = "sora_social"
DEFAULT_DEV_DIR = Path(__file__).resolve().parents[2] / "var" / "c2pa"
DEV_CA_NAME, DEV_CERT_NAME, DEV_KEY_NAME = "dev_ca.pem", "dev_signer_chain.pem", "dev_signer_key.pem"
_dev_lock = threading.Lock()


@dataclass(frozen=True)
class SigningConfig:
    """Where the signing key comes from. Both production paths, or neither (then the dev CA is used)."""

    cert_chain_path: Path | None = None  # PEM chain, end-entity certificate first
    private_key_path: Path | None = None  # PEM private key of the end-entity certificate (ES256: P-256)
    dev_dir: Path = DEFAULT_DEV_DIR  # where the development CA and signer live (created on first use)
    timestamp_url: str | None = None  # RFC 3161 time-stamp authority; None: no timestamp (offline)
    trust_anchors_pem: tuple[Path, ...] = ()  # extra CA certificates ``verify`` trusts

    def __post_init__(self) -> None:
        if (self.cert_chain_path is None) != (self.private_key_path is None):
            raise ValueError(
                f"give both cert_chain_path and private_key_path or neither, got "
                f"{self.cert_chain_path!r} and {self.private_key_path!r}"
            )

    @property
    def is_production(self) -> bool:
        return self.cert_chain_path is not None


@dataclass(frozen=True)
class Featured:
    """A cameo that appears in the video."""

    handle: str
    cameo_id: str | None  # the service's id for the cameo; None when rendered outside the service (CLI)


@dataclass(frozen=True)
class Verification:
    state: str  # "Trusted", "Valid", "Invalid", or "NoManifest"
    failures: tuple[str, ...]  # validation codes that failed ("assertion.bmffHash.mismatch", ...)
    ai_generated: bool  # the active manifest has a c2pa.created action with trainedAlgorithmicMedia
    generation: Mapping[str, Any] = field(default_factory=dict)  # our product assertion's data
    signer: str | None = None  # the signing certificate's issuer, as the reader reports it

    @property
    def ok(self) -> bool:
        return self.state in ("Valid", "Trusted")


def _name(common_name: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sora Social development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def ensure_dev_credentials(dev_dir: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, signer chain, signer key) PEM paths in ``dev_dir``, generated once."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_path, chain_path, key_path = dev_dir / DEV_CA_NAME, dev_dir / DEV_CERT_NAME, dev_dir / DEV_KEY_NAME
    with _dev_lock:
        if ca_path.is_file() and chain_path.is_file() and key_path.is_file():
            return ca_path, chain_path, key_path
        dev_dir.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        # 1. the CA
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("Sora Social dev C2PA CA")
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ca_ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        # 2. the end-entity signer
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Sora Social dev C2PA signer"))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        private = serialization.PrivateFormat.PKCS8
        _write_private(key_path, key.private_bytes(pem, private, serialization.NoEncryption()))
        _write_private(
            dev_dir / "dev_ca_key.pem", ca_key.private_bytes(pem, private, serialization.NoEncryption())
        )
        chain_path.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
        ca_path.write_bytes(ca_cert.public_bytes(pem))  # written last: its presence means the set is complete
    return ca_path, chain_path, key_path


def build_manifest(
    *,
    title: str,
    engine: str,
    checkpoint_sha256: str,
    featured: Sequence[Featured],
    seed: int,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest definition signed into the file (JSON-safe); also what ``RenderedVideo.manifest`` holds."""
    generation = {
        "engine": engine,
        "checkpoint_sha256": checkpoint_sha256,
        "seed": seed,
        "cameos": [{"handle": f.handle, "cameo_id": f.cameo_id} for f in featured],
        **(extra or {}),
    }
    return {
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": "1"}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": {"name": engine},
                            "parameters": {"checkpoint_sha256": checkpoint_sha256},
                        },
                        # what was composited from the cameos' own media, when the engine says so
                        *(
                            {"action": "c2pa.edited", "parameters": {"description": str(description)}}
                            for description in (extra or {}).get("composited", ())
                        ),
                    ]
                },
            },
            {"label": PRODUCT_ASSERTION, "data": generation},
        ],
    }


def _signer(config: SigningConfig) -> Any:
    import c2pa

    if config.is_production:
        assert config.cert_chain_path is not None and config.private_key_path is not None
        chain, key = config.cert_chain_path.read_bytes(), config.private_key_path.read_bytes()
    else:
        _, chain_path, key_path = ensure_dev_credentials(config.dev_dir)
        chain, key = chain_path.read_bytes(), key_path.read_bytes()
    tsa = config.timestamp_url.encode() if config.timestamp_url else None
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, tsa))


def sign_mp4(source: Path, destination: Path, manifest: Mapping[str, Any], config: SigningConfig) -> Path:
    """Write ``source`` with ``manifest`` embedded and signed to ``destination`` (atomically)."""
    import c2pa

    partial = destination.with_name(f".{destination.name}.{os.getpid()}.c2pa.partial")
    partial.unlink(missing_ok=True)
    try:
        signer = _signer(config)
        with c2pa.Builder(json.dumps(manifest)) as builder:
            builder.sign_file(str(source), str(partial), signer)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return destination


def _reader_context(anchors: Sequence[Path]) -> Any:
    import c2pa

    if not anchors:
        return None
    pem = "".join(Path(path).read_text() for path in anchors)
    settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True}, "trust": {"user_anchors": pem}})
    return c2pa.Context(settings=settings)


def verify(path: Path, *, trust_anchors: Sequence[Path] = ()) -> Verification:
    """The file's validation state and what its active manifest says. ``trust_anchors``: CA PEMs to trust
    (the dev CA, say) on top of none: without them a valid signature reads ``Valid``, not ``Trusted``."""
    import c2pa

    context = _reader_context(trust_anchors)
    try:
        reader = c2pa.Reader(str(path)) if context is None else c2pa.Reader(str(path), context=context)
    except c2pa.C2paError.ManifestNotFound:
        return Verification(state="NoManifest", failures=(), ai_generated=False)
    with reader:
        state = reader.get_validation_state() or "Invalid"
        results = reader.get_validation_results() or {}
        manifest = reader.get_active_manifest() or {}
    failures = tuple(
        str(item.get("code")) for item in (results.get("activeManifest") or {}).get("failure", [])
    )
    assertions = {a.get("label"): a.get("data", {}) for a in manifest.get("assertions", [])}
    actions = [
        action
        for label, data in assertions.items()
        if str(label).startswith("c2pa.actions")
        for action in data.get("actions", [])
    ]
    ai_generated = any(
        a.get("action") == "c2pa.created" and a.get("digitalSourceType") == DIGITAL_SOURCE_TYPE
        for a in actions
    )
    signature = manifest.get("signature_info") or {}
    return Verification(
        state=state,
        failures=failures,
        ai_generated=ai_generated,
        generation=assertions.get(PRODUCT_ASSERTION, {}),
        signer=signature.get("issuer"),
    )
