"""Every callback_id, action_id and block_id, defined once for builders and handlers."""

from __future__ import annotations

from enum import StrEnum


class Callback(StrEnum):
    INVITE_VENDOR = "invite_vendor"
    INVITE_WEDGEHR = "invite_wedgehr"
    INVITE_SPARKHIRE = "invite_sparkhire"
    INVITE_PROGRESS = "invite_progress"
    SHARE_ADVANCED = "share_advanced"
    CONNECT = "connect"
    #: The modal showing a Spark Hire webhook's URL path and credentials, to register it by hand.
    WEBHOOK_CREDENTIALS = "webhook_credentials"
    WORKING = "working"
    # Shortcuts (manifest.yml uses the same ids; a test compares them).
    SHORTCUT_INVITE = "invite_candidate"
    SHORTCUT_INVITE_FROM_MESSAGE = "invite_from_message"


class Action(StrEnum):
    VENDOR = "vendor"
    WEDGEHR_INTERVIEW = "wedgehr_interview"
    SPARKHIRE_JOB = "sparkhire_job"
    SPARKHIRE_QUESTION_SET = "sparkhire_question_set"
    INPUT = "input"  # the single input element of an input block
    OPEN_INVITE = "open_invite"
    OPEN_CONNECT = "open_connect"
    DISCONNECT = "disconnect"
    OPEN_FIND = "open_find"
    RESEND_WEDGE = "resend_wedge"
    SHARE_INTERVIEW = "share_interview"
    SHARE_DEACTIVATE = "share_deactivate"
    SHARE_ADVANCED = "share_advanced"
    SHARE_ADVANCED_DEACTIVATE = "share_advanced_deactivate"
    WATCH = "watch"
    OPEN_RESULT = "open_result"
    OPEN_INVITE_LINK = "open_invite_link"
    SUBSCRIPTION_RESUME = "subscription_resume"
    SUBSCRIPTION_REMOVE = "subscription_remove"
    #: A button of unsubscribe's "which account?" answer.
    UNSUBSCRIBE_CHOICE = "unsubscribe_choice"
    #: Opens the webhook credentials modal (no PUBLIC_URL: the webhook is registered by hand).
    SHOW_WEBHOOK_CREDENTIALS = "show_webhook_credentials"


#: The value of the one option a type-ahead offers when the vendor's lookup failed, as ``lookup_failed:<cause>``.
LOOKUP_FAILED = "lookup_failed"

#: Buttons that open a URL: Slack still sends their click, which only needs an ack.
LINK_ACTIONS = frozenset({Action.OPEN_INVITE_LINK, Action.WATCH, Action.OPEN_RESULT})


class Block(StrEnum):
    VENDOR = "vendor"
    WEDGEHR_INTERVIEW = "wedgehr_interview"
    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    SEND_EMAIL = "send_email"
    UNIQUE_ID = "unique_id"
    BULK = "bulk"
    SPARKHIRE_JOB = "sparkhire_job"
    CANDIDATE_NAME = "candidate_name"
    DEADLINE = "deadline"
    QUESTION_SET = "question_set"
    QUESTIONS = "questions"
    TIME_LIMIT = "time_limit"
    TAKES = "takes"
    MESSAGE = "message"
    PHONE = "phone"
    SMS_CONSENT = "sms_consent"
    SHARE_INTERVIEWS = "share_interviews"
    REVIEWERS = "reviewers"
    REVIEWER_EMAILS = "reviewer_emails"
    REVIEWER_SEND_EMAIL = "reviewer_send_email"
    WEDGEHR_TOKEN = "wedgehr_token"
    WEDGEHR_ENV = "wedgehr_env"
    SPARKHIRE_WORKSPACE_KEY = "sparkhire_workspace_key"
    SPARKHIRE_USER_KEY = "sparkhire_user_key"
    PROGRESS = "progress"
    #: The warning atop a form shown again after the vendor refused it.
    FORM_PROBLEMS = "form_problems"
    ACTIONS = "actions"
    #: Prefix of the blocks of resend's own prompt: a Resend clicked there replaces the prompt with
    #: the answer (clicked elsewhere, in a find list, the list stays).
    RESEND_CHOICE = "resend_choice"
