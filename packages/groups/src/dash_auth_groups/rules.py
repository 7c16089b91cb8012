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
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dash_auth_core import Identity

from .seed_session import SessionUser, current_subject

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
    """The groups of ``identity`` under ``groups_key`` (``groups``, or a claim such as ``roles``).

    A string of groups is split at ``groups_str_split``, a regular expression
    as in the seed libraries (``","``, ``"[,;] *"``); without one it is one name.
    """
    if isinstance(identity, SessionUser):
        raw: Any = identity.raw.get(groups_key)
    else:
        raw = identity.groups if groups_key == "groups" else identity.claims.get(groups_key)
    if raw is None:
        return []
    if isinstance(raw, str):
        return [part for part in (re.split(groups_str_split, raw) if groups_str_split else [raw]) if part]
    if isinstance(raw, (list, tuple, set, frozenset)):
        return [g for g in raw if isinstance(g, str)]
    return []


def user_attribute(identity: Identity, key: str) -> Any:
    """``email``, ``id``, ``name`` or any claim of ``identity`` (what ``restricted_users_key`` names)."""
    if isinstance(identity, SessionUser):
        return identity.raw.get(key)
    if key in ("email", "id", "name", "provider"):
        return getattr(identity, key)
    return identity.claims.get(key)


def takes_path(func: Any) -> bool:
    """Whether ``func`` accepts a ``path`` keyword (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return any(
        (p.name == "path" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)) or p.kind is p.VAR_KEYWORD
        for p in parameters
    )


@dataclass(frozen=True)
class Rule:
    """Groups and restricted users a resource requires. ``None`` means no requirement.

    ``path`` is the page path the rule guards (a ``protected(path=...)``
    function, a page's layout): a ``groups`` callable that accepts ``path``
    gets it, unless ``group_lookup`` gives one, as in dash-auth-plus.
    """

    groups: Names = None
    check_type: str = "one_of"
    restricted_users: Names = None
    restricted_users_key: str = "email"
    groups_key: str = "groups"
    groups_str_split: str | None = None
    group_lookup: Mapping[str, Any] | None = None
    restricted_users_lookup: Mapping[str, Any] | None = None
    case_sensitive: bool = True
    path: str | None = None
    _groups_takes_path: bool = field(default=False, init=False, repr=False, compare=False)
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
        elif callable(self.groups) and self.path is not None:
            object.__setattr__(self, "_groups_takes_path", takes_path(self.groups))
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
        kwargs = dict(self.group_lookup or {})
        if self._groups_takes_path and "path" not in kwargs:
            kwargs["path"] = self.path
        names = self.groups(**kwargs)  # type: ignore[operator]
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
        return self.evaluate(current_subject())


#: Keyword arguments that describe a rule (shared by protected, pages and routes).
#: ``user_session_key`` is dash-auth-plus's name for ``restricted_users_key``.
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
    "user_session_key",
)


def rule_from(mapping: Mapping[str, Any], path: str | None = None) -> Rule:
    """A rule from the rule keys present in ``mapping`` (a page entry, keyword arguments).

    ``path``: the page path a ``groups`` callable that accepts one is given.
    """
    kwargs = {key: mapping[key] for key in RULE_KEYS if key in mapping}
    alias = kwargs.pop("user_session_key", None)
    if alias is not None:
        if kwargs.get("restricted_users_key", alias) != alias:
            raise TypeError("user_session_key and restricted_users_key name the same thing; give one of them")
        kwargs["restricted_users_key"] = alias
    return Rule(**kwargs, path=path)


def page_path(page: Mapping[str, Any]) -> str | None:
    """The path a page's rule and stand-ins are given: its template, else its path (as dash-auth-plus)."""
    path = page.get("path_template") or page.get("path")
    return path if isinstance(path, str) else None


_RULE_CACHE_KEY = "_dash_auth_rule"


def page_rule(page: Any) -> Rule | None:
    """The rule a page declares in ``register_page`` (``None`` if it declares none).

    Built once and kept in the page's own registry entry.
    """
    cached = page.get(_RULE_CACHE_KEY, False)
    if cached is not False:
        return cached
    try:
        rule = rule_from(page, page_path(page)) if any(k in page for k in RULE_KEYS) else None
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


def list_groups(
    groups_key: str = "groups",
    groups_str_split: str | None = None,
    *,
    path: str | None = None,
    group_lookup: Mapping[str, Any] | None = None,
    restricted_users: Names = None,
    restricted_users_lookup: Mapping[str, Any] | None = None,
    restricted_users_key: str | None = None,
    user_session_key: str | None = None,
) -> list[str] | None:
    """The current user's groups, or ``None`` when nobody is signed in.

    ``restricted_users`` (a list, or a callable given
    ``restricted_users_lookup`` as keyword arguments) names users whose list
    is empty: a restricted user holds no group, as :func:`check_groups`
    refuses them whatever their groups. ``restricted_users_key`` (or its
    dash-auth-plus name ``user_session_key``, default ``"email"``) is the
    user attribute the names are compared with. ``path`` and
    ``group_lookup`` are accepted so that one set of keyword arguments serves
    both helpers; they concern required groups, which a list has none of.
    """
    del path, group_lookup  # (see above)
    identity = current_subject()
    if identity is None:
        return None
    if restricted_users is not None:
        keys = {"restricted_users": restricted_users, "restricted_users_lookup": restricted_users_lookup}
        if restricted_users_key is not None:
            keys["restricted_users_key"] = restricted_users_key
        if user_session_key is not None:
            keys["user_session_key"] = user_session_key
        if rule_from(keys).evaluate(identity) is not Verdict.ALLOWED:
            return []
    return user_groups(identity, groups_key, groups_str_split)


def check_groups(
    groups: Names = None,
    check_type: str = "one_of",
    groups_key: str = "groups",
    groups_str_split: str | None = None,
    case_sensitive: bool = True,
    *,
    path: str | None = None,
    group_lookup: Mapping[str, Any] | None = None,
    restricted_users: Names = None,
    restricted_users_lookup: Mapping[str, Any] | None = None,
    restricted_users_key: str | None = None,
    user_session_key: str | None = None,
) -> bool | None:
    """Whether the current user passes the rule these arguments describe.

    ``None`` when nobody is signed in; ``False`` for a restricted user, or
    one whose groups fail ``check_type`` (``one_of``, ``all_of``,
    ``none_of``) against ``groups``; else ``True`` (also when ``groups`` is
    ``None``). ``groups`` may be a callable: it is called with
    ``group_lookup`` as keyword arguments, plus ``path`` when it accepts one
    and the lookup gives none. ``restricted_users`` likewise, with
    ``restricted_users_lookup``. ``user_session_key`` is dash-auth-plus's
    name for ``restricted_users_key`` (default ``"email"``). A callable that
    fails refuses (``False``, logged).
    """
    keys: dict[str, Any] = {
        "groups": groups,
        "check_type": check_type,
        "groups_key": groups_key,
        "groups_str_split": groups_str_split,
        "case_sensitive": case_sensitive,
        "group_lookup": group_lookup,
        "restricted_users": restricted_users,
        "restricted_users_lookup": restricted_users_lookup,
    }
    if restricted_users_key is not None:
        keys["restricted_users_key"] = restricted_users_key
    if user_session_key is not None:
        keys["user_session_key"] = user_session_key
    rule = rule_from(keys, path)
    identity = current_subject()
    if identity is None:
        return None
    return rule.evaluate(identity) is Verdict.ALLOWED
