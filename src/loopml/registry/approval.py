"""Approval policies: which aliases of a model need an approval to move, and who gives it.

Without a policy an alias moves at once. With one, moving it is a promotion request that an
approver confirms or rejects (with a reason); locally, ``promote --approve`` is the explicit
confirmation of the person at the keyboard. ``can_approve`` is the caller's right to approve at
all (the ``approver`` role on a server; True locally); the policy's ``approvers`` list, if not
empty, narrows it to named users.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopml.errors import InvalidParameterError, InvalidStateError, PermissionDeniedError
from loopml.store.metadata.registry_base import RegistryStore
from loopml.store.metadata.registry_entities import (
    AliasPolicy,
    PromotionRequest,
    RequestStatus,
    check_alias,
)


@dataclass(frozen=True)
class PromotionResult:
    """What ``promote`` did: moved the alias (``request`` is None without a policy), or left a
    PENDING request for an approver."""

    name: str
    version: int
    alias: str
    moved: bool
    request: PromotionRequest | None = None


def policy_for(store: RegistryStore, name: str, alias: str) -> AliasPolicy | None:
    return next((p for p in store.list_policies(name) if p.alias == alias), None)


def _how_to_approve(name: str, version: int, alias: str) -> str:
    return (
        f"request it with `loopml models promote {name} {version} --to {alias}` and have an "
        f"approver run `loopml models approve {name} {version} --to {alias}` (locally you may "
        "confirm it yourself with `--approve`)"
    )


def check_approver(policy: AliasPolicy, actor: str | None, can_approve: bool, version: int) -> None:
    if not can_approve or not policy.allows(actor):
        who = ", ".join(policy.approvers) if policy.approvers else "a user with the approver role"
        raise PermissionDeniedError(
            f"{actor or 'this user'} may not approve moving alias {policy.alias!r} of "
            f"{policy.name!r} to version {version}: ask {who}",
            name=policy.name,
            alias=policy.alias,
        )


def set_alias(
    store: RegistryStore,
    name: str,
    alias: str,
    version: int,
    *,
    actor: str | None,
    reason: str | None = None,
) -> None:
    """Move an unprotected alias; a protected one is refused with how to get approval."""
    check_alias(alias)
    if policy_for(store, name, alias) is not None:
        raise PermissionDeniedError(
            f"alias {alias!r} of {name!r} is protected by an approval policy: "
            + _how_to_approve(name, version, alias),
            name=name,
            alias=alias,
        )
    store.set_alias(name, alias, version, actor=actor, reason=reason)


def delete_alias(
    store: RegistryStore, name: str, alias: str, *, actor: str | None, reason: str | None = None
) -> None:
    if policy_for(store, name, alias) is not None:
        raise PermissionDeniedError(
            f"alias {alias!r} of {name!r} is protected by an approval policy; remove the "
            f"policy first (`loopml models policy {name} --unprotect {alias}`) to delete it",
            name=name,
            alias=alias,
        )
    store.delete_alias(name, alias, actor=actor, reason=reason)


def promote(
    store: RegistryStore,
    name: str,
    version: int,
    alias: str,
    *,
    actor: str | None,
    approve: bool = False,
    reason: str | None = None,
    can_approve: bool = True,
) -> PromotionResult:
    """Move ``alias`` to ``version``, or request it where the model's policy protects it."""
    check_alias(alias)
    policy = policy_for(store, name, alias)
    if policy is None:
        store.set_alias(name, alias, version, actor=actor, reason=reason)
        return PromotionResult(name, version, alias, moved=True)
    if approve and not store.enforces_policy:
        check_approver(policy, actor, can_approve, version)
    request = store.create_promotion_request(name, version, alias, actor=actor, reason=reason)
    if not approve:
        return PromotionResult(name, version, alias, moved=False, request=request)
    decided = store.decide_promotion_request(
        request.request_id, approve=True, actor=actor, reason=reason
    )
    return PromotionResult(name, version, alias, moved=True, request=decided)


def _pending(store: RegistryStore, name: str, version: int, alias: str) -> PromotionRequest:
    for request in store.list_promotion_requests(name, status=RequestStatus.PENDING):
        if request.version == version and request.alias == alias:
            return request
    raise InvalidStateError(
        f"there is no pending request to move alias {alias!r} of {name!r} to version "
        f"{version}; create one with `loopml models promote {name} {version} --to {alias}`",
        name=name,
        version=version,
        alias=alias,
    )


def approve(
    store: RegistryStore,
    name: str,
    version: int,
    alias: str,
    *,
    actor: str | None,
    reason: str | None = None,
    can_approve: bool = True,
) -> PromotionRequest:
    """Confirm the pending promotion: the alias moves in the same transaction."""
    request = _pending(store, name, version, alias)
    if not store.enforces_policy:
        policy = policy_for(store, name, alias) or AliasPolicy(name, alias)
        check_approver(policy, actor, can_approve, version)
    return store.decide_promotion_request(
        request.request_id, approve=True, actor=actor, reason=reason
    )


def reject(
    store: RegistryStore,
    name: str,
    version: int,
    alias: str,
    *,
    actor: str | None,
    reason: str,
    can_approve: bool = True,
) -> PromotionRequest:
    """Refuse the pending promotion; the reason is required (it is what the requester reads)."""
    if not reason or not reason.strip():
        raise InvalidParameterError(
            "a rejection needs a reason (--reason '...'): it tells the requester what to fix"
        )
    request = _pending(store, name, version, alias)
    if not store.enforces_policy:
        policy = policy_for(store, name, alias) or AliasPolicy(name, alias)
        check_approver(policy, actor, can_approve, version)
    return store.decide_promotion_request(
        request.request_id, approve=False, actor=actor, reason=reason
    )
