"""What a cameo's owner is told about its state: a stable reason code (stored in `Cameo.rejection_reason`,
for a rejected cameo and for one held for review) and a sentence with the next step."""

from cameos.models import CameoStatus

# Why a cameo is held (`needs_review`). A moderator decides (`services.cameo_review_decide`); the owner is
# told on their socket (`cameo.reviewed`) and the cameo becomes `verified` or `rejected`.
LIKENESS_MATCH = "likeness_match"  # the face is close to another owner's verified cameo
CHARACTER_SHOWS_A_PERSON = "character_shows_a_person"  # a character's image shows a human face
REVIEW_REJECTED = "review_rejected"  # a moderator refused a held cameo
# Its verification was started CAMEO_VERIFICATION_MAX_ATTEMPTS times and every worker died mid-way.
VERIFICATION_INTERRUPTED = "verification_interrupted"

_NEXT_STEP_REVIEW = "A moderator will look at it and decide; you will be told the outcome."
_NEXT_STEP_RECORD = "Ask for a new challenge and record again."

HELD_MESSAGES = {
    LIKENESS_MATCH: "Held for review: it looks like another person's cameo.",
    CHARACTER_SHOWS_A_PERSON: "Held for review: the image shows a human face, and a character cannot be a person.",
}

REJECTED_MESSAGES = {
    "no_face": f"Rejected: we could not see your face in most of the recording. {_NEXT_STEP_RECORD}",
    "multiple_faces": f"Rejected: more than one person is in the recording. {_NEXT_STEP_RECORD}",
    "low_quality": f"Rejected: your face is too small, blurred, dark or turned away. {_NEXT_STEP_RECORD}",
    "static_image": f"Rejected: the recording does not move like a live person. {_NEXT_STEP_RECORD}",
    "identity_inconsistent": f"Rejected: more than one person appears in turn. {_NEXT_STEP_RECORD}",
    "no_speech": f"Rejected: we could not hear you read the digits. {_NEXT_STEP_RECORD}",
    "digits_mismatch": f"Rejected: the digits we heard are not the ones asked. {_NEXT_STEP_RECORD}",
    "head_turn_missing": f"Rejected: we did not see the head turn that was asked. {_NEXT_STEP_RECORD}",
    "av_out_of_sync": f"Rejected: your lips do not follow the sound. {_NEXT_STEP_RECORD}",
    "protected_likeness": "Rejected: this face is protected and cannot be a cameo.",
    REVIEW_REJECTED: "Rejected after review by a moderator.",
    VERIFICATION_INTERRUPTED: f"Rejected: we could not finish checking your recording. {_NEXT_STEP_RECORD}",
}


def status_message(*, status: str, reason: str) -> str:
    """The sentence the owner reads for a cameo in `status` for `reason` (empty while all is well)."""
    if status == CameoStatus.NEEDS_REVIEW:
        held = HELD_MESSAGES.get(reason, "Held for review.")
        return f"{held} {_NEXT_STEP_REVIEW}"
    if status == CameoStatus.REJECTED:
        if reason.startswith("media_"):
            return f"Rejected: the recording could not be read. {_NEXT_STEP_RECORD}"
        return REJECTED_MESSAGES.get(reason, f"Rejected. {_NEXT_STEP_RECORD}")
    if status in (CameoStatus.UPLOADED, CameoStatus.PROCESSING):
        return "Being checked: this takes about a minute."
    return ""
