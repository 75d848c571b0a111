"""Settings, split by topic. Which values apply is decided by the environment alone (see `env.py`)."""

from .api import *
from .base import *
from .cameos import *
from .celery import *
from .channels import *
from .database import *
from .feed import *
from .generation import *
from .logging import *
from .moderation import *
from .security import *
from .storage import *
