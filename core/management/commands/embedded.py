"""Run the whole product on one machine with nothing installed: `python manage.py embedded`.

Starts the embedded Redis (broker, channel layer, cache), applies migrations, seeds the demo data, then
runs the ASGI web server (HTTP + WebSocket) and a Celery worker with its beat scheduler, and stops them
all, in order, on Ctrl-C or when any of them exits.
"""

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.embedded import EmbeddedRedis, socket_path_from_url


class Command(BaseCommand):
    help = "Run web server, worker and embedded Redis together on the embedded defaults."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--worker-concurrency", type=int, default=1)
        parser.add_argument("--no-demo", action="store_true", help="Skip seeding the demo data.")

    def handle(
        self, *args: Any, host: str, port: int, worker_concurrency: int, no_demo: bool, **options: Any
    ) -> None:
        settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
        embedded_redis = None
        socket_path = socket_path_from_url(settings.REDIS_URL)
        if socket_path is not None:
            embedded_redis = EmbeddedRedis(socket_path)
            started = embedded_redis.start()
            self.stdout.write(
                f"Redis: {'started' if started else 'reusing'} embedded server at {socket_path}"
            )

        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database: migrations applied")
            if not no_demo:
                call_command("seed_demo")
            python = sys.executable
            children["worker"] = subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "sora_social",
                    "worker",
                    "-B",
                    "-Q",
                    "cpu,gpu",
                    "--concurrency",
                    str(worker_concurrency),
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.MEDIA_ROOT.parent / "celerybeat-schedule"),
                ]
            )
            children["web"] = subprocess.Popen(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "sora_social.asgi:application",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--lifespan",
                    "off",
                    "--ws",
                    "websockets",
                    "--no-access-log",
                ]
            )
            self.stdout.write(
                self.style.SUCCESS(f"Serving on http://{host}:{port}/  (API docs: /api/v1/docs/)")
            )
            while not stopping and all(child.poll() is None for child in children.values()):
                time.sleep(0.2)
            failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
            if failed and not stopping:
                raise CommandError(f"the {failed[0]} process exited unexpectedly")
        finally:
            for child in reversed(children.values()):
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
            if embedded_redis is not None:
                embedded_redis.stop()
            self.stdout.write("Stopped.")
