"""The one place settings read the environment.

Every setting is typed and read through `env`; with no variable set, the embedded defaults apply
(SQLite, local files, an embedded Redis on a unix socket under `DATA_DIR`). Production differs only by
its environment, never by code.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Everything the embedded default writes lives under one folder: database, media, broker socket, keys.
DATA_DIR = Path(env.str("SORA_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
