from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """A person's latest likes, comments and views with their posts, from one index each: (person, id),
    with the post as a non-key column on PostgreSQL, read backwards from the newest (For You's affinity:
    feed.ranking.selectors.viewer_signals)."""

    dependencies = [
        ("feed", "0009_appeal_decided_notifications"),
        ("generation", "0008_author_by_id_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="like",
            index=models.Index(fields=["user", "id"], include=["post"], name="feed_like_user_latest"),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(fields=["author", "id"], include=["post"], name="feed_comment_author_latest"),
        ),
        migrations.AddIndex(
            model_name="postview",
            index=models.Index(fields=["viewer", "id"], include=["post"], name="feed_view_viewer_latest"),
        ),
    ]
