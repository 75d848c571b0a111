"""The signed media route serves a file only while the app that owns it says the link's viewer may have it."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, RequestFactory

from core.signed_media import signed_media_url
from tests.factories import CameoFactory

pytestmark = pytest.mark.django_db


def test_a_file_no_app_guards_is_not_served(user):
    name = default_storage.save("elsewhere/secret.bin", ContentFile(b"secret"))

    assert Client().get(signed_media_url(name, 60, request=RequestFactory().get("/"), viewer_id=user.pk)).status_code == 404


def test_a_cameo_recording_reaches_its_owner_only(user, other_user):
    name = default_storage.save(f"cameos/{user.pk}/recordings/r.mp4", ContentFile(b"rec"))
    CameoFactory(owner=user, recording=name)

    assert Client().get(signed_media_url(name, 60, request=RequestFactory().get("/"), viewer_id=user.pk)).status_code == 200
    assert Client().get(signed_media_url(name, 60, request=RequestFactory().get("/"), viewer_id=other_user.pk)).status_code == 404
    assert Client().get(signed_media_url(name, 60, request=RequestFactory().get("/"), viewer_id=None)).status_code == 404


def test_a_cameo_link_stops_working_when_the_account_is_deactivated(user):
    name = default_storage.save(f"cameos/{user.pk}/references/r.png", ContentFile(b"png"))
    CameoFactory(owner=user, reference_image=name)
    url = signed_media_url(name, 60, request=RequestFactory().get("/"), viewer_id=user.pk)
    user.is_active = False
    user.save()

    assert Client().get(url).status_code == 404
