from .env import DATA_DIR, env

MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# Any S3-compatible store (AWS, MinIO, Ceph, R2) when a bucket is named; local files otherwise.
S3_BUCKET = env.str("S3_BUCKET", default="")
# Private media (cameo recordings) is reached only through signed URLs that expire after this long.
MEDIA_URL_EXPIRY_SECONDS = env.int("MEDIA_URL_EXPIRY_SECONDS", default=300)
# Where clients reach this service (scheme, host, any path prefix, e.g. https://api.example.com): local
# media links are made absolute on it. Unset: on the scheme and host each request came in on. Not
# PUBLIC_BASE_URL, which is the web client's origin (e-mail links), possibly another host.
MEDIA_LINK_BASE_URL = env.str("MEDIA_LINK_BASE_URL", default="")

# The S3 storage as production configures it (the tests of the S3 path use this same dict).
S3_STORAGE = {
    "BACKEND": "core.storage.MediaS3Storage",
    "OPTIONS": {
        "bucket_name": S3_BUCKET,
        "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
        # The name phones and browsers reach the store by, when it differs from the one this deployment
        # uses (signed URLs and upload forms are signed for it: core/storage.py).
        "public_endpoint_url": env.str("S3_PUBLIC_ENDPOINT_URL", default="") or None,
        "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
        "region_name": env.str("S3_REGION", default="") or None,
        # Private media only through signed, expiring URLs.
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": MEDIA_URL_EXPIRY_SECONDS,
        "file_overwrite": False,
        "signature_version": "s3v4",
    },
}
# Location and URL follow MEDIA_ROOT / MEDIA_URL.
FILE_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": S3_STORAGE if S3_BUCKET else FILE_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    if not env.bool("DJANGO_DEBUG", default=True)
    else {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies: at most this many bytes unless the route takes uploads (core/body_limit.py refuses more
# before reading; upload routes declare their own limit); Django's own check agrees.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# Upload limits enforced before anything reaches storage.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# No local media link outlives this, whatever lifetime its maker asked for: the server checks the token's
# own creation time against it (core/signed_media.py).
MEDIA_URL_MAX_AGE_SECONDS = env.int("MEDIA_URL_MAX_AGE_SECONDS", default=3600)
# Links on a public post's share page (its player, and `og:video` / `og:image` for link-preview crawlers
# that fetch a page now and its media later) live this long, and no longer; the media route still asks at
# every request whether the post may be played, so a take-down or a change of audience stops them at once.
SHARE_MEDIA_URL_MAX_AGE_SECONDS = env.int("SHARE_MEDIA_URL_MAX_AGE_SECONDS", default=24 * 3600)
