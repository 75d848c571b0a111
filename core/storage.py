"""Media storage: django-storages' S3 backend, plus the one thing it lacks for a store behind a private
network name: signing URLs for the name clients use.

Inside a deployment the web and worker processes reach the store by an internal name (compose's
`http://minio:9000`, a VPC endpoint); phones and browsers reach it by a public one. A SigV4 signature covers
the host, so a URL signed for the internal name and rewritten afterwards is refused: the public URLs have
to be signed for the public name from the start. Signing is local (no request is made), so a second boto3
client configured with the public endpoint signs them, while every request of our own goes through the
internal one.
"""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class MediaS3Storage(S3Storage):
    """`S3Storage` with a `public_endpoint_url` option (`S3_PUBLIC_ENDPOINT_URL`): signed download URLs
    (`url`) and pre-signed upload forms (`signing_client`) name it; empty means the endpoint itself."""

    def get_default_settings(self) -> dict[str, Any]:
        return {**super().get_default_settings(), "public_endpoint_url": None}

    @property
    def signing_client(self) -> Any:
        """The boto3 client that signs what clients will use: one configured with the public endpoint, or
        the ordinary one when there is none. One per thread, like the storage's own connections."""
        if not self.public_endpoint_url:
            return self.connection.meta.client
        client = getattr(self._connections, "public_client", None)
        if client is None:
            client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.public_endpoint_url,
                config=self.client_config,
                verify=self.verify,
            )
            self._connections.public_client = client
        return client

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        if not self.public_endpoint_url or self.custom_domain or not self.querystring_auth:
            return super().url(name, parameters, expire, http_method)
        params = {
            **(parameters or {}),
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
        }
        return self.signing_client.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )
