from .env import DATA_DIR, env

# Liveness challenge: digits read aloud while recording; single use, short-lived.
CAMEO_CHALLENGE_DIGITS = env.int("CAMEO_CHALLENGE_DIGITS", default=6)
CAMEO_CHALLENGE_TTL_SECONDS = env.int("CAMEO_CHALLENGE_TTL_SECONDS", default=300)
CAMEO_MAX_OPEN_CHALLENGES = 5

# What a cameo recording may be: what phones and browsers produce, within bounds.
CAMEO_MIN_DURATION_S = 2.0
CAMEO_MAX_DURATION_S = 30.0
CAMEO_MAX_UPLOAD_BYTES = env.int("CAMEO_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
CAMEO_MIN_SIDE = 240
CAMEO_ALLOWED_CONTAINERS = ("mov", "mp4", "matroska", "webm")
CAMEO_ALLOWED_VIDEO_CODECS = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4")
CAMEO_ALLOWED_AUDIO_CODECS = ("aac", "opus", "vorbis", "mp3", "pcm_s16le", "alac")
# Character cameos are made from one image or a short clip.
CAMEO_CHARACTER_MAX_BYTES = 20 * 1024 * 1024
# The image is decoded in the web process: its pixel count (read from the header) is capped before that
# (a 12 MP phone photo fits). Characters per account are capped too (they are also rate limited).
CAMEO_CHARACTER_MAX_PIXELS = env.int("CAMEO_CHARACTER_MAX_PIXELS", default=16_000_000)
CAMEO_MAX_CHARACTERS_PER_OWNER = env.int("CAMEO_MAX_CHARACTERS_PER_OWNER", default=20)

# Resumable uploads collect here (a shared volume when several web processes serve uploads).
CAMEO_UPLOAD_SPOOL_DIR = DATA_DIR / "upload-spool"
CAMEO_UPLOAD_TTL_SECONDS = env.int("CAMEO_UPLOAD_TTL_SECONDS", default=24 * 3600)
CAMEO_UPLOAD_MAX_CHUNK_BYTES = 8 * 1024 * 1024
# Per user: resumable (or direct) uploads open at once, and the bytes they may hold together (reserved at
# each upload's declared size). An upload also lives no longer than its challenge, and one per challenge.
CAMEO_MAX_OPEN_UPLOADS = env.int("CAMEO_MAX_OPEN_UPLOADS", default=2)
CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER = env.int(
    "CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER", default=2 * CAMEO_MAX_UPLOAD_BYTES
)
# A pre-signed POST (S3 storage) is valid this long.
CAMEO_DIRECT_UPLOAD_TTL_SECONDS = env.int("CAMEO_DIRECT_UPLOAD_TTL_SECONDS", default=900)

# Likeness search (dlib L2 distance; the same person is below 0.6). Backend: "auto" (pgvector where the
# database has it, else in-process), "pgvector", or "in-process" (faster at 1M cameos, see
# bench/RESULTS.md, at the cost of about 600 MB and a 16 s cold start per worker process, at 1M cameos).
CAMEO_LIKENESS_BACKEND = env.str("CAMEO_LIKENESS_BACKEND", default="auto")
CAMEO_IMPERSONATION_MAX_DISTANCE = env.float("CAMEO_IMPERSONATION_MAX_DISTANCE", default=0.5)
CAMEO_PROTECTED_MAX_DISTANCE = env.float("CAMEO_PROTECTED_MAX_DISTANCE", default=0.55)

# Biometric data of uploads never verified (abandoned, or stuck) is destroyed after this long.
CAMEO_ABANDONED_RETENTION_SECONDS = env.int("CAMEO_ABANDONED_RETENTION_SECONDS", default=7 * 24 * 3600)
# A cameo still `uploaded` after this long has lost its task (an enqueue lost with the broker); the sweep
# (cameos.requeue_stuck, on beat) sends it again.
CAMEO_VERIFICATION_STUCK_AFTER_SECONDS = env.int("CAMEO_VERIFICATION_STUCK_AFTER_SECONDS", default=900)
# A verification under way holds a lease on its cameo (core.leases): a heartbeat every
# CAMEO_VERIFICATION_HEARTBEAT_S; one older than CAMEO_VERIFICATION_LEASE_S (or a dead holder on this host)
# means the worker died: a redelivery takes it over, and the sweep (every CAMEO_VERIFICATION_SWEEP_INTERVAL_S)
# sends it again, at most CAMEO_VERIFICATION_MAX_ATTEMPTS starts in all (the task's own retries included),
# then rejects it `verification_interrupted` (the owner records again).
CAMEO_VERIFICATION_HEARTBEAT_S = env.float("CAMEO_VERIFICATION_HEARTBEAT_S", default=5.0)
CAMEO_VERIFICATION_LEASE_S = env.int("CAMEO_VERIFICATION_LEASE_S", default=60)
CAMEO_VERIFICATION_SWEEP_INTERVAL_S = env.float("CAMEO_VERIFICATION_SWEEP_INTERVAL_S", default=30.0)
CAMEO_VERIFICATION_MAX_ATTEMPTS = env.int("CAMEO_VERIFICATION_MAX_ATTEMPTS", default=5)
