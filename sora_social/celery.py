"""The Celery app. Two queues: `cpu` (verification, sweeps, bookkeeping) and `gpu` (generation)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_social.settings")

app = Celery("sora_social")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("cpu"), Queue("gpu")]
app.autodiscover_tasks()
