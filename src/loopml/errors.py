"""The one error tree of loopml.

Every error a user can cause is a :class:`LoopmlError` with a stable ``code``. The server maps
codes to HTTP statuses in one place (:data:`HTTP_STATUS`); the CLI prints ``message`` without a
traceback. Codes never change meaning once released, so scripts may match on them.

=====================  ======  ===========================================================
code                   HTTP    raised when
=====================  ======  ===========================================================
INVALID_PARAMETER      400     an argument, path, value or filter is malformed
RESOURCE_NOT_FOUND     404     a run, experiment, artifact, object or version does not exist
ALREADY_EXISTS         409     a name is taken, or an immutable value would change
INVALID_STATE          409     the operation does not fit the resource's state (a deleted run)
PERMISSION_DENIED      403     the caller's role does not allow the operation
UNAUTHENTICATED        401     no or a bad token
CORRUPT_OBJECT         500     stored bytes do not match their content hash
STORE_UNAVAILABLE      503     the database or object store cannot be reached
EXECUTOR_UNAVAILABLE   503     a compute cluster (Ray) cannot be reached
DATA_VALIDATION_FAILED 422     data breaks its schema or checks
STEP_FAILED            422     a pipeline step raised, timed out or returned a bad output
INTERNAL_ERROR         500     a bug in loopml: please report it
=====================  ======  ===========================================================
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "HTTP_STATUS",
    "AlreadyExistsError",
    "CorruptObjectError",
    "DataValidationError",
    "ExecutorUnavailableError",
    "InvalidParameterError",
    "InvalidStateError",
    "LoopmlError",
    "NotFoundError",
    "PermissionDeniedError",
    "StepFailedError",
    "StoreUnavailableError",
    "UnauthenticatedError",
    "error_from_code",
]


class LoopmlError(Exception):
    """Base of every error loopml raises on purpose."""

    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidParameterError(LoopmlError, ValueError):
    code = "INVALID_PARAMETER"


class NotFoundError(LoopmlError, LookupError):
    code = "RESOURCE_NOT_FOUND"


class AlreadyExistsError(LoopmlError):
    code = "ALREADY_EXISTS"


class InvalidStateError(LoopmlError):
    code = "INVALID_STATE"


class PermissionDeniedError(LoopmlError):
    code = "PERMISSION_DENIED"


class UnauthenticatedError(LoopmlError):
    code = "UNAUTHENTICATED"


class CorruptObjectError(LoopmlError):
    code = "CORRUPT_OBJECT"


class StoreUnavailableError(LoopmlError):
    code = "STORE_UNAVAILABLE"


class DataValidationError(LoopmlError):
    code = "DATA_VALIDATION_FAILED"


class ExecutorUnavailableError(LoopmlError):
    """A compute cluster (Ray) cannot be reached; ``details["address"]`` names it."""

    code = "EXECUTOR_UNAVAILABLE"


class StepFailedError(LoopmlError):
    """A pipeline step failed; ``details["step"]`` names it."""

    code = "STEP_FAILED"


HTTP_STATUS: dict[str, int] = {
    "INVALID_PARAMETER": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "INVALID_STATE": 409,
    "DATA_VALIDATION_FAILED": 422,
    "STEP_FAILED": 422,
    "INTERNAL_ERROR": 500,
    "CORRUPT_OBJECT": 500,
    "STORE_UNAVAILABLE": 503,
    "EXECUTOR_UNAVAILABLE": 503,
}

_BY_CODE: dict[str, type[LoopmlError]] = {
    cls.code: cls
    for cls in (
        LoopmlError,
        InvalidParameterError,
        NotFoundError,
        AlreadyExistsError,
        InvalidStateError,
        PermissionDeniedError,
        UnauthenticatedError,
        CorruptObjectError,
        StoreUnavailableError,
        DataValidationError,
        StepFailedError,
        ExecutorUnavailableError,
    )
}


def error_from_code(code: str, message: str, **details: Any) -> LoopmlError:
    """Rebuild the typed error a remote server reported (used by REST clients)."""
    return _BY_CODE.get(code, LoopmlError)(message, **details)
