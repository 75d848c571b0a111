import secrets

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.tasks import enqueue_on_commit, realtime_ping_task


class RealtimePingApi(APIView):
    """Ask a worker to send a `realtime.pong` event to your open sockets: a live end-to-end check."""

    permission_classes = [IsAuthenticated]
    # Each ping queues a task on the queue that verification uses.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "realtime_ping"

    class OutputSerializer(serializers.Serializer):
        nonce = serializers.CharField(help_text="Echoed in the `realtime.pong` event's data.")

    @extend_schema(request=None, responses={202: OutputSerializer}, operation_id="realtime_ping")
    def post(self, request: Request) -> Response:
        nonce = secrets.token_hex(8)
        enqueue_on_commit(realtime_ping_task, request.user.pk, nonce)
        return Response(self.OutputSerializer({"nonce": nonce}).data, status=status.HTTP_202_ACCEPTED)
