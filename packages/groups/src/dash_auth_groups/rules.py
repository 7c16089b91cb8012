"""Access rules: who may pass, decided from the identity the server holds.

A :class:`Rule` combines group requirements (``one_of``, ``all_of``,
``none_of``) and a list of restricted users. Static lists are turned into
frozensets once, so a check against 100 groups or 10,000 restricted users is
a few set look-ups. Group names compare exactly unless ``case_sensitive=False``;
restricted users always ignore case (a deny-list must not miss ``BOB`` for
``bob``: being over-strict is the safe way to be wrong).

A rule fails closed: a callable that raises, returns ``None`` for the
groups, or returns anything but names refuses (and is logged), never allows.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dash_auth_core import Identity, current_user

CHECK_TYPES = ("one_of", "all_of", "none_of")

Names = Iterable[str] | Callable[..., Iterable[str] | None] | None

log = logging.getLogger("dash_auth.groups")


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"


def _fold(names: Iterable[str], case_sensitive: bool) -> frozenset[str]:
    """A user's names (odd values in a session or claim are skipped)."""
    if case_sensitive:
        return frozenset(n for n in names if isinstance(n, str))
    return frozenset(n.casefold() for n in names if isinstance(n, str))


def _rule_names(names: Any, what: str, case_sensitive: bool) -> frozenset[str]:
    """A rule's names: a string means one name; anything but strings is an error."""
    if isinstance(names, str):
        names = (names,)
    elif isinstance(names, (bytes, bytearray)) or not isinstance(names, Iterable):
        raise TypeError(f"{what} must be names (strings), not {names!r}")
    names = tuple(names)
    odd = [n for n in names if not isinstance(n, str)]
    if odd:
        raise TypeError(f"{what} must be names (strings); got {odd[0]!r}")
    return _fold(names, case_sensitive)


def user_groups(identity: Identity, groups_key: str = "groups", groups_str_split: str | None = None) -> list[str]:
    """The groups of ``identity`` under ``groups_key`` (``groups``, or a claim such as ``roles``)."""
    raw: Any = identity.groups if groups_key == "groups" else identity.claims.get(groups_key)
    if raw is None:
        return []
    if isinstance(raw, str):
        return [part for part in (raw.split(groups_str_split) if groups_str_split else [raw]) if part]
    if isinstance(raw, (list, tuple, set, frozenset)):
        return [g for g in raw if isinstance(g, str)]
    return []


def user_attribute(identity: Identity, key: str) -> Any:
    """``email``, ``id``, ``name`` or any claim of ``identity`` (what ``restricted_users_key`` names)."""
    if key in ("email", "id", "name", "provider"):
        return getattr(identity, key)
    return identity.claims.get(key)


@dataclass(frozen=True)
class Rule:
    """Groups and restricted users a resource requires. ``None`` means no requirement."""

    groups: Names = None
    check_type: str = "one_of"
    restricted_users: Names = None
    restricted_users_key: str = "email"
    groups_key: str = "groups"
    groups_str_split: str | None = None
    group_lookup: Mapping[str, Any] | None = None
    restricted_users_lookup: Mapping[str, Any] | None = None
    case_sensitive: bool = True
    _static_groups: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)
    _static_restricted: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.check_type not in CHECK_TYPES:
            raise ValueError(f"check_type must be one of {CHECK_TYPES}, not {self.check_type!r}")
        for name in ("groups", "restricted_users"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} must be a list of names or a callable, not the string {value!r}")
        if self.groups is not None and not callable(self.groups):
            object.__setattr__(self, "_static_groups", _rule_names(self.groups, "groups", self.case_sensitive))
        if self.restricted_users is not None and not callable(self.restricted_users):
            object.__setattr__(self, "_static_restricted",
                               _rule_names(self.restricted_users, "restricted_users", False))

    @property
    def is_static(self) -> bool:
        """No callables: the verdict depends on the identity alone."""
        return not callable(self.groups) and not callable(self.restricted_users)

    @property
    def is_empty(self) -> bool:
        return self.groups is None and self.restricted_users is None

    def _required_groups(self) -> frozenset[str] | None:
        if self._static_groups is not None or self.groups is None:
            return self._static_groups
        names = self.groups(**(self.group_lookup or {}))  # type: ignore[operator]
        if names is None:
            # Most often a look-up that found no entry: that grants nothing.
            raise TypeError("the groups callable returned None")
        return _rule_names(names, "the groups callable's result", self.case_sensitive)

    def _restricted(self) -> frozenset[str]:
        if self._static_restricted is not None:
            return self._static_restricted
        if self.restricted_users is None:
            return frozenset()
        names = self.restricted_users(**(self.restricted_users_lookup or {}))  # type: ignore[operator]
        return frozenset() if names is None else _rule_names(names, "the restricted_users callable's result", False)

    def is_restricted(self, identity: Identity) -> bool:
        """Whether ``identity`` is one of the restricted users (a claim holding a list counts any of them)."""
        value = user_attribute(identity, self.restricted_users_key)
        values = value if isinstance(value, (list, tuple)) else (value,)
        restricted = self._restricted()
        if not restricted:
            return False
        return not _fold(values, False).isdisjoint(restricted)

    def check_groups(self, identity: Identity) -> bool:
        required = self._required_groups()
        if required is None:
            return True
        have = _fold(user_groups(identity, self.groups_key, self.groups_str_split), self.case_sensitive)
        if self.check_type == "one_of":
            return not have.isdisjoint(required)
        if self.check_type == "all_of":
            return required <= have
        return have.isdisjoint(required)  # none_of

    def evaluate(self, identity: Identity | None) -> Verdict:
        """The verdict for ``identity`` (``None`` = nobody signed in)."""
        if identity is None:
            return Verdict.UNAUTHENTICATED
        try:
            if self.restricted_users is not None and self.is_restricted(identity):
                return Verdict.FORBIDDEN
            if not self.check_groups(identity):
                return Verdict.FORBIDDEN
        except Exception:
            log.exception("a group rule could not be checked for %r; refused", identity.id)
            return Verdict.FORBIDDEN
        return Verdict.ALLOWED

    def evaluate_current(self) -> Verdict:
        return self.evaluate(current_user())


#: Keyword arguments that describe a rule (shared by protected, pages and routes).
RULE_KEYS = (
    "groups",
    "check_type",
    "restricted_users",
    "restricted_users_key",
    "groups_key",
    "groups_str_split",
    "group_lookup",
    "restricted_users_lookup",
    "case_sensitive",
)


def rule_from(mapping: Mapping[str, Any]) -> Rule:
    """A rule from the rule keys present in ``mapping`` (a page entry, keyword arguments)."""
    return Rule(**{key: mapping[key] for key in RULE_KEYS if key in mapping})


_RULE_CACHE_KEY = "_dash_auth_rule"


def page_rule(page: Any) -> Rule | None:
    """The rule a page declares in ``register_page`` (``None`` if it declares none).

    Built once and kept in the page's own registry entry.
    """
    cached = page.get(_RULE_CACHE_KEY, False)
    if cached is not False:
        return cached
    try:
        rule = rule_from(page) if any(k in page for k in RULE_KEYS) else None
    except (TypeError, ValueError) as exc:
        # A rule that cannot work closes its page (and only it), and says why once.
        log.error("the page %r declares a rule that cannot work, so nobody may open it: %s", page.get("module"), exc)
        rule = _NOBODY
    if rule is not None and rule.is_empty:
        rule = None
    page[_RULE_CACHE_KEY] = rule
    return rule


#: The rule of a page whose own rule is broken: a group no identity can have.
_NOBODY = Rule(groups=["\x00dash-auth: no one"])


def check_page(page: Any) -> None:
    """Check a page's rule when the guard first sees the page: a broken one is logged, and closes the page."""
    page_rule(page)


def list_groups(groups_key: str = "groups", groups_str_split: str | None = None) -> list[str] | None:
    """The current user's groups, or ``None`` when nobody is signed in."""
    identity = current_user()
    if identity is None:
        return None
    return user_groups(identity, groups_key, groups_str_split)


def check_groups(
    groups: Iterable[str] | None = None,
    check_type: str = "one_of",
    groups_key: str = "groups",
    groups_str_split: str | None = None,
    case_sensitive: bool = True,
) -> bool | None:
    """Whether the current user's groups pass ``check_type`` against ``groups``.

    ``None`` when nobody is signed in; ``True`` when ``groups`` is ``None``.
    """
    identity = current_user()
    if identity is None:
        return None
    rule = Rule(groups=groups, check_type=check_type, groups_key=groups_key,
                groups_str_split=groups_str_split, case_sensitive=case_sensitive)
    return rule.check_groups(identity)
