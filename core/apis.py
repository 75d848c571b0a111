import secrets

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.errors import CoreError
from core.exceptions import ApplicationError
from core.tasks import realtime_ping_task, task_send


class RealtimePingApi(APIView):
    """Ask a worker to send a `realtime.pong` event to your open sockets: a live end-to-end check.

    Sockets (`/ws/`) carry hints, the API the truth. A socket the server closes with 1011 (its event bus
    failed), or one that drops, is reconnected with exponential backoff and jitter (1 s, 2 s, 4 s … 30 s,
    reset on `connection.ready`); after each `connection.ready` the client re-reads its jobs in flight and
    the lists it shows, since events missed meanwhile are not replayed. A close with 4401 means sign in again."""

    permission_classes = [IsAuthenticated]
    # Each ping queues a task on the queue that verification uses.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "realtime_ping"

    class OutputSerializer(serializers.Serializer):
        nonce = serializers.CharField(help_text="Echoed in the `realtime.pong` event's data.")

    @extend_schema(
        request=None,
        responses={
            202: OutputSerializer,
            503: OpenApiResponse(
                description="The task broker is unreachable (`realtime_unavailable`): no pong will come; "
                "retry with backoff."
            ),
        },
        operation_id="realtime_ping",
    )
    def post(self, request: Request) -> Response:
        nonce = secrets.token_hex(8)
        # Sent now, not on commit: this request writes nothing, and the client must learn that no pong will come.
        if not task_send(realtime_ping_task, request.user.pk, nonce):
            raise ApplicationError(
                CoreError.REALTIME_UNAVAILABLE,
                "The realtime service is unreachable right now; retry with backoff.",
                status=503,
            )
        return Response(self.OutputSerializer({"nonce": nonce}).data, status=status.HTTP_202_ACCEPTED)
