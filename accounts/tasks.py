from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.core.management import call_command

from accounts.models import User


@shared_task(
    name="accounts.send_verification_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=60,
    soft_time_limit=45,
)
def send_verification_email_task(user_id: int) -> None:
    from accounts.services import email_verification_token

    user = User.objects.filter(pk=user_id, is_active=True, email_verified_at__isnull=True).first()
    if user is None:
        return  # verified or gone since: nothing to send
    link = f"{settings.PUBLIC_BASE_URL}/verify-email?token={email_verification_token(user=user)}"
    send_mail(
        subject="Confirm your e-mail address",
        message=f"Hi @{user.username},\n\nConfirm your address by opening this link:\n{link}\n",
        from_email=None,
        recipient_list=[user.email],
    )


@shared_task(name="accounts.flush_expired_tokens", time_limit=600, soft_time_limit=540)
def flush_expired_tokens_task() -> None:
    call_command("flushexpiredtokens")


@shared_task(name="accounts.erase_account", acks_late=True, time_limit=900, soft_time_limit=840)
def erase_account_task(user_id: int) -> None:
    from accounts.services import account_erase

    account_erase(user_id=user_id)
