"""Public routes in Flask's route syntax.

Rules are paths relative to the app's URL prefix, written like
``register_page`` paths (``"/"``, ``"/user/<user_id>/public"``); a request
path outside the prefix (a plain server route) is matched as it is. Matching
uses werkzeug's compiled state machine, so its cost does not grow with the
number of rules; results are memoised in a small bounded table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from werkzeug.routing import Map, Rule

from .errors import ConfigurationError

_CACHE_LIMIT = 4096


class PublicRoutes:
    """A growing set of public path rules with a fast ``test``."""

    def __init__(self, rules: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: list[str] = []
        self._static: set[str] = set()
        self._map = Map(strict_slashes=True)
        self._adapter = self._map.bind("localhost", "/")
        self._cache: dict[str, bool] = {}
        self.version = 0
        self.add(rules)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(self._rules)

    def add(self, rules: Iterable[str] | str) -> None:
        """Add rules; a malformed rule raises :class:`ConfigurationError` naming it."""
        if isinstance(rules, str):
            rules = [rules]
        compiled: list[tuple[str, Rule]] = []
        for rule in rules:
            if not isinstance(rule, str):
                raise ConfigurationError(f"public route {rule!r} is not a string")
            if not rule.startswith("/"):
                raise ConfigurationError(
                    f"public route {rule!r} must start with '/' (Flask route syntax)"
                )
            try:
                probe = Map([Rule(rule)])
                probe.bind("localhost").test("/")  # forces compilation of the rule
            except Exception as exc:  # werkzeug raises ValueError/LookupError for bad rules
                raise ConfigurationError(
                    f"public route {rule!r} is not a valid Flask route rule: {exc}"
                ) from exc
            compiled.append((rule, Rule(rule)))
        if not compiled:
            return
        with self._lock:
            for text, rule_obj in compiled:
                if text in self._rules:
                    continue
                self._rules.append(text)
                self._map.add(rule_obj)
                if "<" not in text:
                    self._static.add(text)
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
