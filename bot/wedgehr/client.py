"""Async client for the WedgeHR Connect API v2."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic.alias_generators import to_snake

from bot.vendors.errors import APIStatusError, SessionError, ValidationError, VendorError
from bot.vendors.http import BaseVendorClient, path_segment
from bot.wedgehr.models import Interview, Invite, InviteStatus, One, Page, Wedge

MAX_PAGE_SIZE = 100


def _filters(**values: Any) -> dict[str, str]:
    """``filter[camelName]`` query parameters for the values that are set."""
    params: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        params[f"filter[{camel}]"] = str(value)
    return params


def _page_params(page_size: int, cursor: str | None) -> dict[str, str]:
    params = {"page[size]": str(max(1, min(page_size, MAX_PAGE_SIZE)))}
    if cursor:
        params["page[cursor]"] = cursor
    return params


class WedgeHRClient(BaseVendorClient):
    """WedgeHR Connect v2.

    Args:
        token: The company's integration token (Bearer).
        base_url: API root, e.g. ``https://api.wedgehr.com/connect/v2``.
        **kwargs: ``timeout``, ``transport``, ``http_client``, ``retry`` (see BaseVendorClient).
    """

    vendor_name = "WedgeHR"

    def __init__(self, *, token: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url=base_url, **kwargs)
        self._token = token

    def __repr__(self) -> str:
        return f"WedgeHRClient(base_url={self.base_url!r})"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def _credentials(self) -> tuple[str, ...]:
        return (self._token,)

    def _error_message(self, response: httpx.Response, body: Any) -> tuple[str | None, str | None]:
        if isinstance(body, dict):
            message = body.get("message") or body.get("error")
            if isinstance(message, str) and message:
                return message, None
        return None, None

    def _make_error(self, response: httpx.Response) -> APIStatusError:
        error = super()._make_error(response)
        if response.status_code == 403 and "session" in str(error.body).lower():
            return SessionError(vendor=self.vendor_name, status_code=403, body=error.body)
        if response.status_code == 400 and error.message == error.default_message:
            error.message = "WedgeHR rejected a filter value (bad filter)."
        if isinstance(error, ValidationError):
            error.field_errors = {field: self._scrub(text) for field, text in _field_errors(error.body).items()}
            if error.message == error.default_message and error.field_errors:
                error.message = "; ".join(error.field_errors.values())
        return error

    # -- invites -------------------------------------------------------------------------
    async def create_invite(
        self,
        *,
        interview_id: int,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        should_send_invite: bool = True,
        unique_id: str | None = None,
    ) -> Invite:
        """Create an invite (and email it unless ``should_send_invite`` is False).

        Never retried on 5xx or connection errors: a retry could invite twice.
        """
        body: dict[str, Any] = {
            "interviewId": interview_id,
            "email": email,
            # The docs' curl example says shouldSentInvite; the parameter table is right (ERRATA).
            "shouldSendInvite": should_send_invite,
        }
        for key, value in (
            ("firstName", first_name),
            ("lastName", last_name),
            ("uniqueId", unique_id),
        ):
            if value:
                body[key] = value
        response = await self._request("POST", "/invites", json=body, idempotent=False)
        assert response is not None
        return One[Invite].model_validate(response.json()).data

    async def list_invites(
        self,
        *,
        id: int | None = None,
        interview_id: int | None = None,
        unique_id: str | None = None,
        email: str | None = None,
        status: InviteStatus | str | int | None = None,
        page_size: int = MAX_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Invite]:
        """One page of invites. A filter that matches nothing is an empty page (404, ERRATA)."""
        status_value = InviteStatus.parse(status).name if status is not None else None
        params = _filters(
            id=id, interview_id=interview_id, unique_id=unique_id, email=email, status=status_value
        ) | _page_params(page_size, cursor)
        return await self._page("/invites", params, Invite)

    async def iter_invites(self, **filters: Any) -> AsyncIterator[Invite]:
        """Every invite matching the filters, following cursors page by page."""
        async for item in self._iterate(self.list_invites, filters):
            yield item

    async def get_invite(self, invite_id: int) -> Invite:
        response = await self._request("GET", f"/invites/{path_segment(invite_id)}")
        assert response is not None
        return One[Invite].model_validate(response.json()).data

    # -- wedges ------------------------------------------------------------------------
    async def list_wedges(
        self,
        *,
        id: int | None = None,
        interview_id: int | None = None,
        email: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Wedge]:
        params = _filters(id=id, interview_id=interview_id, email=email) | _page_params(page_size, cursor)
        return await self._page("/wedges", params, Wedge)

    async def iter_wedges(self, **filters: Any) -> AsyncIterator[Wedge]:
        async for item in self._iterate(self.list_wedges, filters):
            yield item

    async def get_wedge(self, wedge_id: int) -> Wedge:
        response = await self._request("GET", f"/wedges/{path_segment(wedge_id)}")
        assert response is not None
        return One[Wedge].model_validate(response.json()).data

    async def resend_invite(self, wedge_id: int) -> Wedge:
        """Re-send the wedge's invitation email. Retried only on 429 (it sends mail)."""
        response = await self._request("POST", f"/wedges/{path_segment(wedge_id)}/resend-invite", idempotent=False)
        assert response is not None
        return One[Wedge].model_validate(response.json()).data

    # -- interviews ----------------------------------------------------------------------
    async def list_interviews(
        self,
        *,
        search: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Interview]:
        """One page of interviews (the API answers 201 here; any 2xx is fine)."""
        params = _filters(search=search or None) | _page_params(page_size, cursor)
        return await self._page("/interviews", params, Interview)

    async def iter_interviews(self, *, search: str | None = None) -> AsyncIterator[Interview]:
        async for item in self._iterate(self.list_interviews, {"search": search}):
            yield item

    async def search_interviews(self, query: str, *, limit: int = 20) -> list[Interview]:
        """Interviews whose name matches ``query`` (type-ahead): one request."""
        page = await self.list_interviews(search=query or None, page_size=limit)
        return page.data[:limit]

    async def verify(self) -> str:
        """Check the token with a one-item interviews list; describe the account."""
        page = await self.list_interviews(page_size=1)
        if page.data and page.data[0].company_id:
            return f"WedgeHR company {page.data[0].company_id}"
        return "WedgeHR company account"

    # -- helpers ---------------------------------------------------------------------------
    async def _page(self, path: str, params: dict[str, str], model: type) -> Page[Any]:
        # 404 is "nothing matches this filter" (ERRATA) for a listing's first page; on a later page
        # it is a listing cut short, which must not pass for its end (the poller would forget the rest).
        response = await self._request("GET", path, params=params, empty_on_404="page[cursor]" not in params)
        if response is None:
            return Page[model]()  # type: ignore[valid-type]
        envelope = Page[Any].model_validate(response.json())
        return Page[model](data=self._listed(model, envelope.data), pagination=envelope.pagination)  # type: ignore[valid-type]

    @staticmethod
    async def _iterate(fetch: Any, filters: dict[str, Any]) -> AsyncIterator[Any]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await fetch(**filters, cursor=cursor)
            for item in page.data:
                yield item
            cursor = page.pagination.next
            if not cursor:
                return
            if cursor in seen:  # would loop forever; and the listing is not whole
                raise VendorError("WedgeHR gave the same page of a listing twice; it was stopped there.")
            seen.add(cursor)


def _field_errors(body: Any) -> dict[str, str]:
    """``{"errors": {"interviewId": ["..."]}}`` (or a list of {field, message}) -> snake_case map."""
    if not isinstance(body, dict):
        return {}
    errors = body.get("errors")
    result: dict[str, str] = {}
    if isinstance(errors, dict):
        for field, messages in errors.items():
            text = messages[0] if isinstance(messages, list) and messages else messages
            result[to_snake(str(field))] = str(text)
    elif isinstance(errors, list):
        for entry in errors:
            if isinstance(entry, dict) and entry.get("field"):
                result[to_snake(str(entry["field"]))] = str(entry.get("message", "is invalid"))
    return result
