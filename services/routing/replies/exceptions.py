"""Reply errors, each with its HTTP status (rendered as problem+json)."""

from __future__ import annotations

from shared.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ServiceUnavailableError,
    UnprocessableError,
)


class ReplyNotFoundError(NotFoundError):
    title = "Reply not found"


class AuthorNotAllowedError(ForbiddenError):
    """The author is not a member of the brand, lacks the reply grant, or the key may not
    write as them."""

    title = "The author may not reply on this case"


class ReviewerNotAllowedError(ForbiddenError):
    title = "The reviewer may not approve this reply"


class AuthorRequiredError(UnprocessableError):
    title = "Name the reply's author"


class ReplyTextTooLongError(UnprocessableError):
    title = "The reply is too long for the channel"


class GuidelineViolationError(UnprocessableError):
    """The check found error-level violations or the brand's policy does not pass it."""

    title = "The reply breaks the brand's guideline"


class CaseClosedError(ConflictError):
    title = "The case is closed"


class CannotSendError(ConflictError):
    """Nothing on the case can be answered (channel, target, connection, 24-hour window)."""

    title = "The reply cannot be sent on this case"


class ReplyStateError(ConflictError):
    title = "The reply is not in a state that allows this"


class NoGuidelineError(ConflictError):
    title = "The brand has no guideline to check replies against"


class GuidelinesUnavailableError(ServiceUnavailableError):
    title = "The guideline check is unavailable"
