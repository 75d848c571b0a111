from .base import REDIS_URL
from .cameos import CAMEO_VERIFICATION_SWEEP_INTERVAL_S
from .env import env
from .generation import GENERATION_SWEEP_INTERVAL_S


def _celery_url(url: str) -> str:
    # kombu spells a Redis unix socket `redis+socket://`; the rest of the stack takes `unix://`.
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_celery_url(REDIS_URL))
# Job state lives in the database; Celery's own result store is not needed.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True

# A task is acknowledged only after it ran, so a worker killed mid-task hands it back to the queue;
# tasks are written to be idempotent for exactly that redelivery.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Everything runs on `cpu` unless routed here; rendering video is the `gpu` queue's work.
CELERY_TASK_DEFAULT_QUEUE = "cpu"
# Embedding posts and steering texts for For You (feed.tasks) is small CPU work, named here so that a
# change of the default cannot move it onto the render queue.
CELERY_TASK_ROUTES = {"generation.render_*": {"queue": "gpu"}, "feed.embed_*": {"queue": "cpu"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
# A lost broker (Redis restarted) is reconnected by every process by itself, at start and later, forever:
# workers and beat never need a restart. Sending a message while it is down fails within about a second
# (never a hung request): the caller records it as unsent (core.tasks.task_send, the generation outbox).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
# With acks_late, an unacknowledged task reappears after this; it must exceed the longest task.
# A worker sweeps for such orphaned tasks every `unacked_restore_interval` seconds. A render whose worker
# died is recovered long before that by the generation sweep (the row's lease); the late redelivery then
# does nothing (docs/ARCHITECTURE.md, "Faults").
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=30),
    "unacked_restore_throttle": 1,
    # Dead connections are found (pinged every 10 s) rather than waited on forever.
    "health_check_interval": 10,
    "socket_connect_timeout": 4,
    "socket_keepalive": True,
    "retry_on_timeout": True,
}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

CELERY_BEAT_SCHEDULE = {
    "flush-expired-tokens": {
        "task": "accounts.flush_expired_tokens",
        "schedule": 6 * 3600,
    },
    "requeue-stuck-cameo-verifications": {
        "task": "cameos.requeue_stuck",
        "schedule": CAMEO_VERIFICATION_SWEEP_INTERVAL_S,
    },
    "sweep-generations": {
        "task": "generation.sweep",
        "schedule": GENERATION_SWEEP_INTERVAL_S,
    },
    "purge-abandoned-cameo-data": {
        "task": "cameos.purge_abandoned",
        "schedule": 3600,
    },
    "finalise-unappealed-moderation-decisions": {
        "task": "moderation.finalise_unappealed",
        "schedule": 3600,
    },
}
