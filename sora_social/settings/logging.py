import structlog

from .env import env

# One JSON object per line in production (LOG_FORMAT=json), readable lines in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")



def _request_id(logger: object, method: str, event_dict: dict) -> dict:
    """Django's own request log (`django.request`, the one that carries a 500's traceback) passes the
    request object: keep its request id (set by core.middleware.RequestLogMiddleware), not its repr."""
    request = event_dict.pop("request", None)
    request_id = getattr(request, "request_id", None)
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


_pre_chain = [
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    _request_id,
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            # A record's exc_info (a failed request, a failed task) becomes its traceback as text under
            # "exception", and stack_info under "stack": JSON would otherwise print `<traceback object at 0x…>`.
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.StackInfoRenderer(),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(default=repr),
            ],
            "foreign_pre_chain": _pre_chain,
        },
        "console": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.dev.ConsoleRenderer(colors=False),
            "foreign_pre_chain": _pre_chain,
        },
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
