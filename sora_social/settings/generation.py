from pathlib import Path

from .env import DATA_DIR, env

# Limits per user: videos started per rolling 24 h, and jobs queued or running at once.
GENERATION_DAILY_QUOTA = env.int("GENERATION_DAILY_QUOTA", default=30)
GENERATION_MAX_CONCURRENT = env.int("GENERATION_MAX_CONCURRENT", default=2)

# A render that runs longer than this is stopped by Celery; the sweep fails any job left `running` past it
# (a worker that died without handing the task back) and any job `queued` past the queue timeout.
GENERATION_TIME_LIMIT_S = env.int("GENERATION_TIME_LIMIT_S", default=15 * 60)
GENERATION_QUEUE_TIMEOUT_S = env.int("GENERATION_QUEUE_TIMEOUT_S", default=2 * 3600)
# Transient faults (a lost storage or GPU, out of memory) are retried with exponential backoff this often.
GENERATION_MAX_RETRIES = env.int("GENERATION_MAX_RETRIES", default=3)
GENERATION_RETRY_BACKOFF_S = env.int("GENERATION_RETRY_BACKOFF_S", default=10)

# Recovery (docs/ARCHITECTURE.md, "Faults"). A running job holds a lease on its row: its worker writes a
# heartbeat at least every GENERATION_HEARTBEAT_S; a heartbeat older than GENERATION_LEASE_S means the worker
# died, and the sweep (every GENERATION_SWEEP_INTERVAL_S, on beat) re-queues the job, at most
# GENERATION_MAX_ATTEMPTS renders in all, then fails it `worker_lost`. The same sweep sends render messages
# the broker did not take (the outbox) once they are GENERATION_DISPATCH_GRACE_S old, and sends again those of
# jobs still queued GENERATION_REDISPATCH_S after they were sent (a broker that lost its data).
GENERATION_HEARTBEAT_S = env.float("GENERATION_HEARTBEAT_S", default=5.0)
GENERATION_LEASE_S = env.int("GENERATION_LEASE_S", default=60)
GENERATION_MAX_ATTEMPTS = env.int("GENERATION_MAX_ATTEMPTS", default=3)
GENERATION_SWEEP_INTERVAL_S = env.float("GENERATION_SWEEP_INTERVAL_S", default=30.0)
GENERATION_DISPATCH_GRACE_S = env.int("GENERATION_DISPATCH_GRACE_S", default=10)
GENERATION_REDISPATCH_S = env.int("GENERATION_REDISPATCH_S", default=15 * 60)

# Which engine renders: "reference" (the project's CPU model, shipped with the code) or
# "diffusers:/path/to/local/checkpoint" (a ConsisID-compatible folder, GPU workers).
GENERATION_ENGINE = env.str("GENERATION_ENGINE", default="reference")
GENERATION_DIFFUSERS_STEPS = env.int("GENERATION_DIFFUSERS_STEPS", default=50)
# Scratch space of the render worker (frames, audio, the unsigned file); emptied after every job.
GENERATION_WORK_DIR = Path(env.str("GENERATION_WORK_DIR", default=str(DATA_DIR / "render-work")))

# Provenance: the C2PA signing certificate chain (PEM, end-entity first) and its private key. Unset: a
# development CA and certificate are created once under C2PA_DEV_DIR (never for production: `check --deploy`
# warns).
C2PA_CERT_CHAIN_PATH = env.str("C2PA_CERT_CHAIN_PATH", default="")
C2PA_PRIVATE_KEY_PATH = env.str("C2PA_PRIVATE_KEY_PATH", default="")
C2PA_DEV_DIR = Path(env.str("C2PA_DEV_DIR", default=str(DATA_DIR / "c2pa")))

# Output check: a face in a generated video closer than this (dlib L2) to a verified cameo that was not
# part of the request is someone who did not consent.
GENERATION_OUTPUT_FACE_MAX_DISTANCE = env.float("GENERATION_OUTPUT_FACE_MAX_DISTANCE", default=0.5)

# "Did this file come from us?" checks: the largest file accepted.
GENERATION_PROVENANCE_MAX_BYTES = env.int("GENERATION_PROVENANCE_MAX_BYTES", default=200 * 1024 * 1024)
