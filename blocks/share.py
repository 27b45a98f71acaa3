"""Share links: the result message and the advanced (reviewers) modal."""

from __future__ import annotations

from typing import Any

from blocks.common import (
    LIST_TEXT_BUDGET,
    actions,
    button,
    chunked_sections,
    confirm_dialog,
    context,
    escape,
    input_block,
    link,
    modal,
    option,
    options,
    section,
    text_input,
    text_length,
)
from blocks.ids import Action, Block, Callback
from blocks.models import CandidateView, Message, Option, ReviewerLinkView


def share_link_message(c: CandidateView, *, url: str, link_uuid: str, active: bool = True) -> Message:
    """A basic share link, with buttons to deactivate it and to share with reviewers."""
    if not active:
        text = f"Share link for {c.name} deactivated."
        return Message(text=text, blocks=[section(f":lock: {escape(text)}")])
    text = f"Share link for {c.name}: {url}"
    return Message(
        text=text,
        blocks=[
            section(f":link: Share link for *{escape(c.name)}* ({escape(c.interview_name or '')}):\n{link(url)}"),
            actions(
                button(
                    "Deactivate link",
                    Action.SHARE_DEACTIVATE,
                    value=f"{c.interview_uuid}:{link_uuid}",
                    style="danger",
                    confirm=confirm_dialog(
                        "Deactivate?", "People with the link will no longer be able to watch.", confirm="Deactivate"
                    ),
                ),
                button("Share with reviewers…", Action.SHARE_ADVANCED, value=c.interview_uuid or c.name),
            ),
        ],
    )


def wedgehr_results_message(query: str, wedges: list[CandidateView]) -> Message:
    """Every WedgeHR interview of the candidate in one message (Slack takes 5 posts per response_url).

    Results to share come first, then the interviews not completed yet, each by its name.
    """
    if len(wedges) == 1:
        return wedgehr_result_message(wedges[0])
    shareable = [w for w in wedges if w.result_url]
    waiting = [w for w in wedges if not w.result_url]
    text = f"WedgeHR results for {query}: {len(shareable)} of {len(wedges)} interviews completed."
    lines = [
        f":link: *{escape(w.interview_name or 'Interview')}*: {link(w.result_url or '', 'open the result')}"
        for w in shareable
    ]
    lines += [
        f":hourglass_flowing_sand: *{escape(w.interview_name or 'Interview')}*: "
        f"{escape((w.status or 'not completed').replace('_', ' '))}, no result to share yet"
        for w in waiting
    ]
    blocks = [section(f"*{escape(text)}*")]
    blocks += chunked_sections(lines, max_blocks=45, more="…and {n} more WedgeHR interviews, listed in WedgeHR.")
    return Message(text=text, blocks=blocks)


def wedgehr_result_message(c: CandidateView) -> Message:
    if not c.result_url:
        interview = f"the WedgeHR interview {c.interview_name}" if c.interview_name else "the WedgeHR interview"
        text = f"{c.name} has not completed {interview} yet, so there is no result to share."
        return Message(text=text, blocks=[section(escape(text))])
    text = f"WedgeHR result for {c.name}: {c.result_url}"
    return Message(
        text=text,
        blocks=[
            section(
                f":link: WedgeHR result for *{escape(c.name)}* ({escape(c.interview_name or '')}):\n"
                + link(c.result_url)
            )
        ],
    )


def advanced_share_modal(
    *,
    interviews: list[Option],
    selected: list[str],
    private_metadata: str,
) -> dict[str, Any]:
    """Several completed interviews of a job, for reviewers picked in Slack or typed."""
    initial = [option(o.value, o.label) for o in interviews if o.value in selected]
    picker: dict[str, Any] = {"type": "multi_static_select", "action_id": Action.INPUT, "options": options(interviews)}
    if initial:
        picker["initial_options"] = initial
    send = {
        "type": "checkboxes",
        "action_id": Action.INPUT,
        "options": [option("send", "Email the reviewer")],
        "initial_options": [option("send", "Email the reviewer")],
    }
    blocks = [
        input_block(Block.SHARE_INTERVIEWS, "Completed interviews", picker),
        input_block(
            Block.REVIEWERS,
            "Reviewers in Slack",
            {"type": "multi_users_select", "action_id": Action.INPUT},
            optional=True,
        ),
        input_block(
            Block.REVIEWER_EMAILS,
            "Other reviewers' emails",
            text_input(Action.INPUT, multiline=True, placeholder="one email per line"),
            optional=True,
        ),
        input_block(Block.REVIEWER_SEND_EMAIL, "Notify", send, optional=True),
        context("Each reviewer gets their own link."),
    ]
    return modal(
        Callback.SHARE_ADVANCED, "Share with reviewers", blocks, submit="Share", private_metadata=private_metadata
    )


#: Reviewer links listed with their own button; 48 + the headline + the overflow line fit Slack's 50 blocks.
MAX_ADVANCED_LINKS_SHOWN = 48
#: Separates, in a Deactivate button's value, the link it deactivates from the links its message lists.
_LISTED = "|"


def reviewer_link_value(link_uuid: str, listed: list[str], *, left_out: int = 0) -> str:
    """A Deactivate button's value: its link, every link of its message, and how many links that
    message left out (to list them again, updated: Slack sends no copy of an ephemeral message with
    the click). 48 uuids and the count fit its 2,000 characters."""
    return f"{link_uuid}{_LISTED}{','.join(listed)}{_LISTED}{left_out}"


def reviewer_link_targets(value: str) -> tuple[str, list[str], int]:
    """The link a Deactivate button's value names, the links its message lists ([] for a button
    posted before the value carried them), and how many more that message left out."""
    link_uuid, _, rest = value.partition(_LISTED)
    listed, _, left_out = rest.partition(_LISTED)
    more = int(left_out) if left_out.isdigit() and len(left_out) < 6 else 0
    return link_uuid, [u for u in listed.split(",") if u][:MAX_ADVANCED_LINKS_SHOWN], more


def _reviewer_link_row(each: ReviewerLinkView, *, listed: list[str], left_out: int = 0) -> dict[str, Any]:
    if not each.active:
        return section(f":lock: {escape(each.email) or 'A reviewer'}: link deactivated, it no longer opens")
    return section(
        f"• {escape(each.email)}: {link(each.url)}",
        accessory=button(
            "Deactivate",
            Action.SHARE_ADVANCED_DEACTIVATE,
            value=reviewer_link_value(each.uuid, listed, left_out=left_out),
            style="danger",
            confirm=confirm_dialog(
                "Deactivate?",
                f"{escape(each.email) or 'The reviewer'} will no longer be able to watch with this link.",
                confirm="Deactivate",
            ),
        ),
    )


def _reviewer_link_rows(links: list[ReviewerLinkView], *, more: int = 0) -> list[dict[str, Any]]:
    """One row per link, within the message's limits, then a line counting those left out (with
    ``more`` an earlier listing left out)."""
    shown: list[ReviewerLinkView] = []
    used = 0
    for each in links[:MAX_ADVANCED_LINKS_SHOWN]:
        used += text_length(_reviewer_link_row(each, listed=[]))
        if used > LIST_TEXT_BUDGET:
            break
        shown.append(each)
    listed = [each.uuid for each in shown]
    left_out = len(links) - len(shown) + more
    rows = [_reviewer_link_row(each, listed=listed, left_out=left_out) for each in shown]
    if left_out:
        rows.append(context(f"…and {left_out} more link(s), listed in Spark Hire."))
    return rows


def advanced_links_message(links: list[ReviewerLinkView], *, emailed: bool) -> Message:
    """The reviewer links just created, each with a button to deactivate it."""
    tail = " Each reviewer was emailed their link." if emailed else " Nobody was emailed; send the links yourself."
    text = f"Created {len(links)} reviewer link(s).{tail}"
    return Message(text=text, blocks=[section(f":link: *{escape(text)}*"), *_reviewer_link_rows(links)])


def advanced_link_deactivated_message(
    email: str, links: list[ReviewerLinkView] | None = None, *, more: int = 0
) -> Message:
    """After a reviewer link's Deactivate button: with ``links``, the clicked message's links as
    they are now (the deactivated ones marked, without their address or button), and a line for the
    ``more`` that message left out."""
    text = f"Reviewer link for {email} deactivated." if email else "Reviewer link deactivated."
    blocks = [section(f":lock: {escape(text)}")]
    if links:
        blocks += _reviewer_link_rows(links, more=more)
    return Message(text=text, blocks=blocks)


def advanced_links_created_view(count: int, *, emailed: bool) -> dict[str, Any]:
    """The share form once its links exist (when Spark Hire answered after the form's 3 s)."""
    tail = " Each reviewer was emailed their link." if emailed else " Nobody was emailed; send the links yourself."
    return modal(
        Callback.WORKING,
        "Reviewer links",
        [
            section(f":white_check_mark: *Created {count} reviewer link(s).*{tail}"),
            context("The links, each with a button to deactivate it, are in your messages from Interview Bot."),
        ],
        submit=None,
        close="Done",
    )
