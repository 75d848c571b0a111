"""A caption as a page shows it: mentions of resolved people become links, hashtags tags, the rest text."""

from feed.captions import CaptionPart, caption_parts


def test_resolved_mentions_and_hashtags_are_cut_out_and_the_rest_is_kept_as_text():
    parts = caption_parts("Chess with @Maya and @ghost #Moon #2024 me@mail.com", mentions=["maya"])

    assert parts == [
        CaptionPart("Chess with "),
        CaptionPart("@Maya", username="maya"),
        CaptionPart(" and "),
        CaptionPart("@ghost"),  # not resolved (unknown, inactive or blocked): plain text
        CaptionPart(" "),
        CaptionPart("#Moon", hashtag="moon"),
        CaptionPart(" "),
        CaptionPart("#2024"),  # all digits: not a tag
        CaptionPart(" me@mail.com"),
    ]
    assert "".join(part.text for part in parts) == "Chess with @Maya and @ghost #Moon #2024 me@mail.com"


def test_an_empty_caption_has_no_parts():
    assert caption_parts("", mentions=[]) == []
