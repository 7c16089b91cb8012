"""Public routes in Flask's route syntax.

Rules are paths relative to the app's URL prefix, written like
``register_page`` paths (``"/"``, ``"/user/<user_id>/public"``); a request
path outside the prefix (a plain server route) is matched as it is. Matching
uses werkzeug's compiled state machine, so its cost does not grow with the
number of rules; results are memoised in a small bounded table.

Each rule is parsed and compiled once. werkzeug also compiles two URL
builders per rule (Python source, through ``compile()``) for ``url_for``;
public routes never build URLs, and those builders made 10,000 rules take
over ten seconds to add, so :class:`_MatchingRule` skips them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, NoReturn

from werkzeug.routing import Map, Rule

from ._bulk import collector_paused
from .errors import ConfigurationError

_CACHE_LIMIT = 4096


def _no_url_building(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise NotImplementedError("dash-auth public route rules only match paths; they build no URLs")


class _MatchingRule(Rule):
    """A werkzeug rule that matches paths and builds no URLs (nothing asks a public route to).

    werkzeug's ``Rule.compile`` parses the rule (which is what checks it and
    what matching needs), then compiles its URL builders through
    ``_compile_builder``; here that returns a stub, which ``compile`` binds in
    their place. Should a werkzeug release stop calling ``_compile_builder``,
    nothing changes but the time it takes.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        return _no_url_building


def _map_of(rules: Iterable[str]) -> Map:
    """A werkzeug map of ``rules`` (already known to be valid)."""
    return Map([_MatchingRule(rule) for rule in rules], strict_slashes=True)


class PublicRoutes:
    """A growing set of public path rules with a fast ``test``."""

    def __init__(self, rules: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, None] = {}  # in the order added; a dict for O(1) membership
        self._rules_tuple: tuple[str, ...] = ()
        self._static: set[str] = set()
        self._map = _map_of(())
        self._adapter = self._map.bind("localhost", "/")
        self._cache: dict[str, bool] = {}
        self.version = 0
        self.add(rules)

    @property
    def rules(self) -> tuple[str, ...]:
        return self._rules_tuple

    def has_rule(self, rule: str) -> bool:
        """Whether ``rule`` itself (its text, not a path it matches) is one of the rules."""
        return rule in self._rules

    def add(self, rules: Iterable[str] | str) -> None:
        """Add rules; a malformed rule raises :class:`ConfigurationError` naming it (and none is added)."""
        if isinstance(rules, str):
            rules = [rules]
        new: dict[str, None] = {}
        for rule in rules:
            if not isinstance(rule, str):
                raise ConfigurationError(f"public route {rule!r} is not a string")
            if not rule.startswith("/"):
                raise ConfigurationError(
                    f"public route {rule!r} must start with '/' (Flask route syntax)"
                )
            if rule not in self._rules:
                new[rule] = None
        if not new:
            return
        with self._lock, collector_paused(len(new)):
            fresh = [rule for rule in new if rule not in self._rules]
            for index, text in enumerate(fresh):
                try:
                    self._map.add(_MatchingRule(text))  # parses it once (werkzeug: bind, compile)
                except Exception as exc:  # werkzeug raises ValueError/LookupError for bad rules
                    if index:  # this call's earlier rules are in the map: start it again without them
                        self._map = _map_of(self._rules)
                        self._adapter = self._map.bind("localhost", "/")
                    raise ConfigurationError(
                        f"public route {text!r} is not a valid Flask route rule: {exc}"
                    ) from exc
            for text in fresh:
                self._rules[text] = None
                if "<" not in text:
                    self._static.add(text)
            self._rules_tuple = tuple(self._rules)
            self._adapter = self._map.bind("localhost", "/")
            self._cache = {}
            self.version += 1

    def test(self, path: str) -> bool:
        """Whether ``path`` (already relative to the app prefix) is public."""
        if path in self._static:
            return True
        cache = self._cache
        hit = cache.get(path)
        if hit is not None:
            return hit
        if not self._rules:
            return False
        try:
            result = self._adapter.test(path)
        except Exception:  # a path werkzeug cannot parse is simply not public
            result = False
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[path] = result
        return result

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.test(path)
