from .env import env

# The affected user may appeal a decision this many days after it. Until then a video a moderator removed
# keeps its media (played by nobody) so an upheld appeal can restore it; the hourly sweep
# (`moderation.finalise_unappealed`) deletes it once the window closes unappealed, and a denied appeal
# deletes it at once.
MODERATION_APPEAL_WINDOW_DAYS = env.int("MODERATION_APPEAL_WINDOW_DAYS", default=30)
