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
    # Not persistent by default: under ASGI each request's thread holds its own connection, and persistent
    # ones piled up to PostgreSQL's 100 within 3 s of 16 concurrent requests (bench/feed_scale.py). Put a
    # pooler (PgBouncer) in front at scale; a Celery worker may keep its one connection
    # (DATABASE_CONN_MAX_AGE=60).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT compiles a plan's expressions when its cost estimate is high, which the feeds' bounded
    # queries often reach: it cost 0.1-2.3 s per query where the query itself ran in milliseconds
    # (bench/feed_scale.py at 1M posts). Our queries are short; compiling never pays off.
    # Statements run on `core.db.prepared_cursor` (the feed's visibility rule over a page's ids) are
    # prepared on their first run and planned once per connection; Django's own cursors bind parameters on
    # the client and never prepare, whatever this says. A pooler in front must keep sessions (or be
    # PgBouncer >= 1.21 with `max_prepared_statements`); DATABASE_PREPARED_STATEMENTS=false turns them off
    # (the same statements are then planned at every run).
    prepare = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0 if prepare else None
    if env.bool("DATABASE_JIT_OFF", default=True):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
