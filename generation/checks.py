"""System checks of the generation app's configuration."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def c2pa_signing_configured(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Production signs provenance manifests with its own certificate, never the development CA that any
    checkout can create."""
    chain, key = settings.C2PA_CERT_CHAIN_PATH, settings.C2PA_PRIVATE_KEY_PATH
    if not chain or not key:
        return [
            checks.Warning(
                "Videos are signed with the development C2PA certificate.",
                hint="Set C2PA_CERT_CHAIN_PATH and C2PA_PRIVATE_KEY_PATH to the production signing credentials.",
                id="generation.W001",
            )
        ]
    missing = [path for path in (chain, key) if not Path(path).is_file()]
    if missing:
        return [
            checks.Error(
                f"C2PA signing files not found: {', '.join(missing)}",
                hint="Mount the certificate chain (PEM, end-entity first) and the private key at these paths.",
                id="generation.E001",
            )
        ]
    return []
