"""The registry side of a rollout: who the champion is, approval requests, the alias move.

With ``promotion = "approval"`` the controller asks an approver to move the ``challenger``
alias to the candidate (the registry's promotion request); an approval lets the canary start,
and the ``champion`` alias moves only once the canary has passed. So an approval never puts a
model in front of all traffic by itself, and ``champion`` keeps meaning "serving at 100%".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.store.metadata.registry_entities import PromotionRequest
from loopml.uris import ModelURI, parse_uri

if TYPE_CHECKING:
    from loopml.store.metadata.registry_base import RegistryStore

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "champion_uri",
    "get_request",
    "mark",
    "move_champion",
    "request_approval",
    "split",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
ACTOR = "loopml-ct"


def split(uri: str) -> tuple[str, int]:
    """``models:/churn/6`` -> ("churn", 6)."""
    parsed = parse_uri(uri)
    if not isinstance(parsed, ModelURI) or parsed.version is None:
        raise InvalidParameterError(f"{uri!r} is not a model version URI (models:/<name>/<n>)")
    return parsed.name, parsed.version


def _store() -> RegistryStore:
    from loopml.registry._stores import registry_store

    return registry_store()


def champion_uri(candidate: str) -> str | None:
    """The version the champion alias points at now, as a fixed ``models:/name/N``."""
    name, _ = split(candidate)
    try:
        version = _store().get_version_by_alias(name, CHAMPION)
    except NotFoundError:
        return None
    return f"models:/{name}/{version.version}"


def mark(uri: str, status: str, run_id: str) -> None:
    """Tag the version with what the controller decided (``ct.status``) and which run."""
    name, version = split(uri)
    _store().set_model_version_tags(
        name, version, {"ct.status": status, "ct.run_id": run_id}, actor=ACTOR
    )


def request_approval(candidate: str, run_id: str) -> PromotionRequest:
    name, version = split(candidate)
    return _store().create_promotion_request(
        name,
        version,
        CHALLENGER,
        actor=ACTOR,
        reason=f"CT run {run_id}: gates passed; approve to roll out as a canary",
    )


def get_request(request_id: str) -> PromotionRequest:
    return _store().get_promotion_request(request_id)


def move_champion(candidate: str, reason: str, approved_by: str | None = None) -> bool:
    """Point ``champion`` at the candidate; False if it already points there.

    A protected alias goes through the registry's approval rules, acting for ``approved_by``
    (the person who approved this candidate's rollout) when there is one: their approval is the
    consent, the canary's numbers the condition. Without one the controller acts as itself,
    which a policy naming its approvers refuses (PERMISSION_DENIED)."""
    from loopml.registry import approval

    name, version = split(candidate)
    store = _store()
    try:
        if store.get_version_by_alias(name, CHAMPION).version == version:
            return False
    except NotFoundError:
        pass
    actor = approved_by or ACTOR
    approval.promote(store, name, version, CHAMPION, actor=actor, approve=True, reason=reason)
    return True
