"""Framework-free ML package: media I/O, identity (face, voice, liveness) and speech models.

Nothing here imports Django, Celery or DRF; the web side reaches this package through one adapter that
imports it lazily, so web processes never pay for torch.
"""
