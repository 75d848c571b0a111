from .env import DATA_DIR, env

# SQLite in WAL mode by default (readers never block the writer; IMMEDIATE transactions avoid the
# "database is locked" upgrade deadlock between web and worker). DATABASE_URL switches to PostgreSQL.
_SQLITE_DEFAULT = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"

DATABASES = {"default": env.db_url("DATABASE_URL", default=_SQLITE_DEFAULT)}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
