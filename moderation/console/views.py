"""The console's pages. Each view parses the request, calls the moderation selectors or services the API
calls (so every rule answers here as it does there), and renders; nothing here decides anything.

Access: `ConsoleView` is Django's `PermissionRequiredMixin` on the moderator permission, checked before
any object is looked up: an anonymous visitor is sent to /login/?next=<this page>, anyone else signed in
without the permission (staff without the role included) gets a 403 page. A case that does not exist is a
404 page."""

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from accounts.models import User
from cameos.models import Cameo
from core.exceptions import ApplicationError
from core.pagination import CursorPagination
from core.signed_media import signed_media_url
from generation.models import Generation
from generation.selectors import generation_media_playable_by
from moderation import appeals, selectors, services
from moderation.console.forms import (
    AppealDecisionForm,
    AuditFilterForm,
    DecisionForm,
    NoteForm,
    QueueFilterForm,
)
from moderation.models import Appeal, Case, CaseKind, CaseStatus, ReportReason
from moderation.pagination import AuditPagination, QueuePagination
from moderation.roles import ADMINISTER, MODERATE
from moderation.targets import case_target_public_id, target_kind_for


class ConsoleView(PermissionRequiredMixin, View):
    """A console page: moderators (and admins) only; see the module's docstring. Refusals are pages too."""

    permission_required = MODERATE

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404:
            return _refused(request, 404, "Not found", "There is no such case.")

    def handle_no_permission(self) -> HttpResponse:
        if not self.request.user.is_authenticated:
            return super().handle_no_permission()  # to /login/?next=<this page>
        return _refused(self.request, 403, "Not allowed", "This page is for moderators.")


def _refused(request: HttpRequest, status: int, heading: str, message: str) -> HttpResponse:
    context = {"heading": heading, "message": message}
    return render(request, "moderation/console/refused.html", context, status=status)


def _page(
    paginator: CursorPagination, rows: QuerySet[Any], request: HttpRequest
) -> tuple[list[Any], str | None, str | None]:
    """One page of `rows` by the API's own cursor pagination: (rows, next link, previous link)."""
    drf_request = Request(request)
    page = paginator.paginate_queryset(rows, drf_request) or []
    return page, paginator.get_next_link(), paginator.get_previous_link()


def _refusal(exc: Exception) -> str:
    """A refusal of a filter or a cursor, as a sentence for the page."""
    if isinstance(exc, ApplicationError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in exc.detail.items())
    return "This page link is no longer valid: start again from the first page."


class QueueView(ConsoleView):
    """The queue, most urgent first (the API's order and filters), a page at a time."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = QueueFilterForm(request.GET)
        context: dict[str, Any] = {
            "form": form,
            "report_reasons": ReportReason.choices,
            "now": timezone.now(),
        }
        try:
            cases = selectors.with_top_reason(
                selectors.cases_for_queue(**form.filters(), moderator=request.user)
            )
            rows, next_link, previous_link = _page(QueuePagination(), cases, request)
        except (ApplicationError, NotFound, ValidationError) as exc:
            context["error"] = _refusal(exc)
            return render(request, "moderation/console/queue.html", context, status=400)
        context.update(
            rows=[_queue_row(case, context["now"]) for case in rows],
            next_link=next_link,
            previous_link=previous_link,
        )
        return render(request, "moderation/console/queue.html", context)


def _queue_row(case: Case, now: Any) -> dict[str, Any]:
    live = case.claim_is_live(now)
    return {
        "case": case,
        "target_type": target_kind_for(case.target_type).name,
        "target_id": case_target_public_id(case),
        "status": case.status if live or case.status == CaseStatus.RESOLVED else CaseStatus.OPEN,
        "appeal": _appeal_of(case),
        "claimed_by": case.claimed_by if live else None,
        "claim_expires_at": case.claim_expires_at if live else None,
    }


def _appeal_of(case: Case) -> Appeal | None:
    """The appeal a queue item of kind `appeal` carries (joined by the selectors: no query of its own)."""
    return case.appeal if case.kind == CaseKind.APPEAL else None


class CaseView(ConsoleView):
    """A case's whole history in one page: the target (the video playing, its prompt, the cameos in it and
    their owners' restrictions), reports, flags with evidence, decisions, earlier cases on the same target
    and user, private notes; claim, release, note and decision forms (the decision only for the claimant).
    An appeal's page shows the appeal, the decision it appeals (with its moderator) and a link to that
    decision's case, and an uphold / deny form with a reply in place of the decision form."""

    def get(self, request: HttpRequest, case_id: int) -> HttpResponse:
        return render_case(request, case_id)


def render_case(
    request: HttpRequest,
    case_id: int,
    *,
    decision_form: DecisionForm | None = None,
    appeal_form: AppealDecisionForm | None = None,
    note_form: NoteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        case = selectors.case_get_for_moderator(case_id=case_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    now = timezone.now()
    target = selectors.case_target_for_review(case=case)
    claim_live = case.claim_is_live(now)
    context = {
        "case": case,
        "target_type": target_kind_for(case.target_type).name,
        "target_id": case_target_public_id(case),
        "target": target,
        "video": target if isinstance(target, Generation) else None,
        "video_url": _video_url(request, target) if isinstance(target, Generation) else None,
        "cameos": _cameos_of(target),
        "account": target if isinstance(target, User) else None,
        "flags": [(flag, json.dumps(flag.evidence, indent=2, sort_keys=True)) for flag in case.flags.all()],
        "earlier": selectors.earlier_cases(case=case),
        "claim_live": claim_live,
        "claimed_by_me": claim_live and case.claimed_by_id == request.user.pk,
        "resolved": case.status == CaseStatus.RESOLVED,
        "appeal": _appeal_of(case),
        "decision_form": decision_form or DecisionForm(),
        "appeal_form": appeal_form or AppealDecisionForm(),
        "note_form": note_form or NoteForm(),
    }
    return render(request, "moderation/console/case.html", context, status=status)


def _video_url(request: HttpRequest, generation: Generation) -> str | None:
    """A signed link for this moderator, as the API hands out (the media route asks again at each request)."""
    if not generation_media_playable_by(generation=generation, viewer=request.user):
        return None
    return signed_media_url(
        generation.video.name, settings.MEDIA_URL_EXPIRY_SECONDS, request=request, viewer_id=request.user.pk
    )


def _cameos_of(target: Model | None) -> list[dict[str, Any]]:
    """The cameos the case involves, each with its owner and the owner's restrictions."""
    if isinstance(target, Cameo):
        return [{"handle": target.handle or target.owner.username, "owner": target.owner, "cameo": target}]
    if isinstance(target, Generation):
        return [
            {"handle": use.handle, "owner": use.owner, "cameo": use.cameo} for use in target.cameo_uses.all()
        ]
    return []


class CaseActionView(ConsoleView):
    """A form on the case page (POST only, CSRF-checked by the middleware). A refusal (someone else's claim,
    a decided case, a rule missing) comes back as the case page with the service's message and status."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, case_id: int) -> HttpResponse:
        try:
            done = self.act(request, case_id)
        except ApplicationError as exc:
            if exc.status == 404:
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
            return self.refused(request, case_id, status=exc.status)
        if isinstance(done, HttpResponse):
            return done
        messages.success(request, done)
        return HttpResponseRedirect(reverse("moderation-console-case", kwargs={"case_id": case_id}))

    def act(self, request: HttpRequest, case_id: int) -> str | HttpResponse:
        raise NotImplementedError

    def refused(self, request: HttpRequest, case_id: int, *, status: int) -> HttpResponse:
        return render_case(request, case_id, status=status)


class CaseClaimView(CaseActionView):
    def act(self, request: HttpRequest, case_id: int) -> str:
        case = services.case_claim(moderator=request.user, case_id=case_id)
        return f"You hold case {case.pk} until {case.claim_expires_at:%H:%M} UTC."


class CaseReleaseView(CaseActionView):
    def act(self, request: HttpRequest, case_id: int) -> str:
        services.case_release(moderator=request.user, case_id=case_id)
        return f"Case {case_id} is back in the queue."


class CaseDecideView(CaseActionView):
    def act(self, request: HttpRequest, case_id: int) -> str | HttpResponse:
        self.form = DecisionForm(request.POST)
        if not self.form.is_valid():
            return render_case(request, case_id, decision_form=self.form, status=400)
        data = self.form.cleaned_data
        decision = services.case_decide(
            moderator=request.user,
            case_id=case_id,
            action=data["action"],
            rule=data["rule"],
            reason=data["reason"],
            strike=data["strike"],
            suspend_days=data["suspend_days"],
        )
        return f"Case {case_id} decided: {decision.get_action_display()}."

    def refused(self, request: HttpRequest, case_id: int, *, status: int) -> HttpResponse:
        return render_case(request, case_id, decision_form=self.form, status=status)


class CaseAppealDecideView(CaseActionView):
    """Uphold or deny the appeal waiting as this case: the API's service (`appeals.appeal_decide`), so the
    claim, the kind and the reversal answer as they do there."""

    def act(self, request: HttpRequest, case_id: int) -> str | HttpResponse:
        self.form = AppealDecisionForm(request.POST)
        if not self.form.is_valid():
            return render_case(request, case_id, appeal_form=self.form, status=400)
        appeal = appeals.appeal_decide(moderator=request.user, case_id=case_id, **self.form.cleaned_data)
        return f"Appeal {appeal.pk} {appeal.status}: the user sees your reply."

    def refused(self, request: HttpRequest, case_id: int, *, status: int) -> HttpResponse:
        return render_case(request, case_id, appeal_form=self.form, status=status)


class CaseNoteView(CaseActionView):
    def act(self, request: HttpRequest, case_id: int) -> str | HttpResponse:
        self.form = NoteForm(request.POST)
        if not self.form.is_valid():
            return render_case(request, case_id, note_form=self.form, status=400)
        services.case_note_add(moderator=request.user, case_id=case_id, text=self.form.cleaned_data["text"])
        return "Note added."

    def refused(self, request: HttpRequest, case_id: int, *, status: int) -> HttpResponse:
        return render_case(request, case_id, note_form=self.form, status=status)


class AuditView(ConsoleView):
    """The audit log, newest first, with the API's filters and links to its export (admin role, as the API)."""

    permission_required = ADMINISTER

    def get(self, request: HttpRequest) -> HttpResponse:
        form = AuditFilterForm(request.GET)
        filters = form.filters()
        # The export takes the API's parameter names: `case` for the case id.
        exported = {("case" if key == "case_id" else key): value for key, value in filters.items() if value}
        export = reverse("moderation-audit-export")
        context: dict[str, Any] = {
            "form": form,
            "export_jsonl": export + ("?" + urlencode(exported) if exported else ""),
            "export_csv": export + "?" + urlencode({**exported, "format": "csv"}),
        }
        try:
            entries = selectors.audit_entries(**filters)
            rows, next_link, previous_link = _page(AuditPagination(), entries, request)
        except (ApplicationError, NotFound, ValidationError) as exc:
            context["error"] = _refusal(exc)
            return render(request, "moderation/console/audit.html", context, status=400)
        context.update(
            rows=[(entry, json.dumps(entry.details, sort_keys=True)) for entry in rows],
            next_link=next_link,
            previous_link=previous_link,
        )
        return render(request, "moderation/console/audit.html", context)
