"""Vectors on the real all-MiniLM-L6-v2 encoder, computed by running the Celery task bodies eagerly: the
steering text moves matching posts up and unmatched ones down; the tasks are idempotent and keep no vector
for a text that changed while it was computed; web processes never import torch."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from feed.models import FeedSteering, Post, PostEmbedding
from feed.ranking import embedding
from feed.ranking.score import unpack_vectors
from feed.tasks import embed_post_task, embed_steering_task
from tests.factories import GenerationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FOR_YOU = "/api/v1/feed/for-you/"

# (name, caption, hashtags, prompt): two about animals, two about sports, two about neither.
POSTS = [
    ("dogs", "Puppy meets kitten", ["dogs", "cats"], "a golden retriever puppy chases a kitten in a garden"),
    ("lions", "Evening on the savanna", ["wildlife"], "a pride of lions rests under an acacia tree"),
    ("football", "Last-minute winner", ["soccer"], "a striker scores a goal in a packed stadium"),
    ("basketball", "Buzzer beater", ["basketball", "nba"], "a player dunks the ball as the crowd cheers"),
    ("pasta", "Fresh pasta at home", ["cooking"], "hands knead dough on a wooden kitchen table"),
    ("city", "Neon nights", ["city"], "a drone flies over skyscrapers in the rain"),
]


def test_steering_moves_matching_posts_up_and_unmatched_ones_down(client_for, person):
    viewer = person("viewer")
    now = timezone.now()
    posts = {}
    # Equal but for age: the animal posts are the oldest, so unsteered they rank last.
    for minutes, (name, caption, hashtags, prompt) in zip((50, 40, 10, 0, 20, 30), POSTS, strict=True):
        posts[name] = GenerationFactory(
            requester=person(name),
            prompt=prompt,
            published_at=now - timedelta(minutes=minutes),
            post__caption=caption,
            post__hashtags=hashtags,
        ).pk
        embed_post_task(posts[name])
    unembedded = GenerationFactory(requester=person("newcomer"), published_at=now - timedelta(minutes=5))
    client = client_for(viewer)
    before = [i for i in _ids(client) if i != unembedded.pk]
    assert before == [posts[n] for n in ("basketball", "football", "pasta", "city", "lions", "dogs")]

    response = client.put("/api/v1/feed/steering/", {"text": "more animals, less sports"}, format="json")
    assert response.status_code == 200
    embed_steering_task(viewer.pk)
    assert client.get("/api/v1/feed/steering/").json()["ready"] is True
    after = _ids(client)

    assert unembedded.pk in after  # a post without a vector yet still ranks, with no steering term
    after = [i for i in after if i != unembedded.pk]
    # Unsteered every other post ranked above the animal ones; steered, every one ranks below them, and
    # those matching "less" lowest of all.
    assert set(after[:2]) == {posts["dogs"], posts["lions"]}
    assert set(after[2:4]) == {posts["pasta"], posts["city"]}
    assert after[4:] == [posts["football"], posts["basketball"]]


def _ids(client) -> list[int]:
    response = client.get(FOR_YOU)
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_a_posts_vector_is_of_its_caption_hashtags_and_prompt_and_computed_once(leo, django_assert_num_queries):
    generation = GenerationFactory(
        requester=leo, prompt="@leo feeds a #duck", published_at=timezone.now(), post__caption="Ducks!"
    )
    Post.objects.filter(pk=generation.pk).update(hashtags=["ducks"])
    assert (
        embedding.post_embedding_text(caption="Ducks!", hashtags=["ducks"], prompt="@leo feeds a #duck")
        == "Ducks!. ducks. leo feeds a duck"
    )

    embed_post_task(generation.pk)
    stored = PostEmbedding.objects.get(post_id=generation.pk)
    vector = unpack_vectors(stored.vector)
    assert vector.shape == (1, 384) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    with django_assert_num_queries(2):  # the post, and the stored vector found current: nothing computed
        embed_post_task(generation.pk)

    Post.objects.filter(pk=generation.pk).update(caption="Geese!")
    embed_post_task(generation.pk)
    assert PostEmbedding.objects.get(post_id=generation.pk).text_sha256 != stored.text_sha256
    embed_post_task(10**9)  # a post that is gone: nothing to do


def test_a_vector_computed_for_a_text_that_changed_meanwhile_is_not_kept(leo, monkeypatch):
    generation = GenerationFactory(requester=leo, published_at=timezone.now(), post__caption="cats")

    def embed_while_the_caption_changes(texts):
        Post.objects.filter(pk=generation.pk).update(caption="dogs")
        return [np.ones(384, dtype="<f4").tobytes()]

    monkeypatch.setattr(embedding, "embed_texts", embed_while_the_caption_changes)
    embedding.post_embed(post_id=generation.pk)
    assert not PostEmbedding.objects.exists()

    FeedSteering.objects.create(user=leo, text="more cats", more=["cats"])

    def embed_while_the_steering_changes(texts):
        FeedSteering.objects.filter(user=leo).update(text="more dogs", more=["dogs"])
        return [np.ones(384, dtype="<f4").tobytes() for _ in texts]

    monkeypatch.setattr(embedding, "embed_texts", embed_while_the_steering_changes)
    embedding.steering_embed(user_id=leo.pk)
    assert not FeedSteering.objects.get(user=leo).is_embedded


def test_steering_vectors_are_computed_once_per_text(leo, django_assert_num_queries):
    FeedSteering.objects.create(user=leo, text="more cats, no dogs", more=["cats"], less=["dogs"])
    embed_steering_task(leo.pk)
    steering = FeedSteering.objects.get(user=leo)
    assert steering.is_embedded
    assert unpack_vectors(steering.more_vectors).shape == unpack_vectors(steering.less_vectors).shape == (1, 384)
    with django_assert_num_queries(1):
        embed_steering_task(leo.pk)


def test_publishing_and_steering_enqueue_their_embedding_after_commit(
    client_for, leo, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("core.tasks.task_send", lambda task, *args, **kwargs: sent.append((task.name, args)))
    draft = GenerationFactory(requester=leo)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(leo).post("/api/v1/posts/", {"generation_id": draft.pk, "caption": "hi"}, format="json")
        assert response.status_code == 200, response.json()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(leo).put("/api/v1/feed/steering/", {"text": "more cats"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(leo).put("/api/v1/feed/steering/", {"text": "more cats"}, format="json")  # unchanged

    assert set(sent) == {("feed.embed_post", (draft.pk,)), ("feed.embed_steering", (leo.pk,))}
    assert sent.count(("feed.embed_steering", (leo.pk,))) == 1
    assert Post.objects.get(pk=draft.pk).duration_ms == 8000  # the spec's length (no render metadata)


def test_the_embedding_tasks_run_on_the_cpu_queue():
    from sora_social.celery import app

    for name in ("feed.embed_post", "feed.embed_steering"):
        assert app.amqp.router.route({}, name)["queue"].name == "cpu"


def test_web_processes_never_import_torch():
    """The URL conf (every API, For You's ranking included) and the tasks module load without torch."""
    code = (
        "import django, sys; django.setup(); import sora_social.urls, feed.tasks, feed.ranking.selectors; "
        "loaded = sorted({'torch', 'transformers', 'ml.text'} & set(sys.modules)); assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "sora_social.settings", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
