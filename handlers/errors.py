"""The one error handler: domain errors become messages the user can act on."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.common import recipient_from_body, report


def register(app: AsyncApp) -> None:
    @app.error
    async def on_error(error, body, client, respond, response, context) -> None:
        reporting = report(error, recipient_from_body(body or {}, client, respond))
        services = (context or {}).get("services")
        if services is not None:
            # Telling the user is a Web API call: it must not hold back the answer Slack waits 3 s for.
            services.tasks.spawn(reporting, name="error.report")
        else:  # the error came before the services middleware ran
            await reporting
        if response is not None:
            # The user has been told in Slack; a 500 would only make Slack show a generic
            # failure (and retry events), so answer as an acknowledgement.
            response.status = 200
            response.body = ""
