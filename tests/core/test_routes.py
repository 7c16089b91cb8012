"""Public route rules: werkzeug's matching, each rule parsed once, no URL builders, all-or-nothing batches."""

from __future__ import annotations

import pytest
from werkzeug.routing import Map, Rule

from dash_auth_core.errors import ConfigurationError
from dash_auth_core.routes import PublicRoutes

pytestmark = pytest.mark.backends("flask", reason="pure functions over route rules")

RULES = [
    "/", "/docs/", "/about", "/reports/<report_id>", "/items/<int:item_id>/part-3", "/files/<path:rest>",
    "/u/<uuid:key>", "/v/<float:x>", "/pick/<any(a, b):choice>", "/team/<team>/public",
]
PATHS = [
    "/", "/docs", "/docs/", "/about", "/about/", "/reports/1", "/reports/1/", "/reports/", "/items/7/part-3",
    "/items/x/part-3", "/items/-1/part-3", "/files/a/b/c", "/files/", "/u/12345678-1234-5678-1234-567812345678",
    "/u/nope", "/v/1.5", "/v/1", "/pick/a", "/pick/c", "/team/x/public", "/team/x/private", "/nothing",
    "/REPORTS/1", "/reports/%2F", "//docs",
]


def werkzeug_test(rules: list[str], path: str) -> bool:
    """What werkzeug's own rules (URL builders and all) answer."""
    return Map([Rule(rule) for rule in rules], strict_slashes=True).bind("localhost", "/").test(path)


def test_matching_is_werkzeugs():
    routes = PublicRoutes(RULES)
    for path in PATHS:
        assert routes.test(path) == werkzeug_test(RULES, path), path
        assert routes.test(path) == werkzeug_test(RULES, path), path  # and from the cache


def test_rules_added_in_several_calls_match_alike():
    routes = PublicRoutes(RULES[:3])
    routes.add(RULES[3:7])
    routes.add(RULES[7:])
    routes.add(RULES)  # again: nothing changes
    assert routes.rules == tuple(RULES)
    for path in PATHS:
        assert routes.test(path) == werkzeug_test(RULES, path), path


def test_no_url_builder_is_compiled(monkeypatch):
    """werkzeug compiles two URL builders per rule (Python source through compile()); public routes
    never build URLs, and 10,000 rules took over ten seconds to add with them."""
    compiled = []
    original = Rule._compile_builder

    def counting(self, append_unknown=True):
        compiled.append(self.rule)
        return original(self, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", counting)
    routes = PublicRoutes([f"/reports/{i}/<report_id>" for i in range(50)])
    assert routes.test("/reports/7/abc") and not routes.test("/reports/7")
    assert compiled == []


def test_each_rule_is_parsed_once(monkeypatch):
    parsed = []
    original = Rule.compile

    def counting(self):
        parsed.append(self.rule)
        return original(self)

    monkeypatch.setattr(Rule, "compile", counting)
    rules = [f"/items/<int:item_id>/part-{i}" for i in range(20)]
    routes = PublicRoutes(rules)
    routes.add(rules[:5])  # known rules are not parsed again
    assert sorted(parsed) == sorted(rules)


@pytest.mark.parametrize("bad", ["/user/<id", "/x/<bogus:id>", "no-slash", 7])
def test_a_batch_with_a_bad_rule_adds_nothing(bad):
    routes = PublicRoutes(["/a"])
    version = routes.version
    with pytest.raises(ConfigurationError, match="public route"):
        routes.add(["/b", "/c/<c_id>", bad, "/d"])
    assert routes.rules == ("/a",) and routes.version == version
    assert routes.test("/a") and not routes.test("/b") and not routes.test("/c/1") and not routes.test("/d")
    routes.add(["/c/<c_id>"])  # and the routes still take good ones
    assert routes.test("/c/1") and not routes.test("/b")


def test_has_rule_is_about_the_rule_text():
    routes = PublicRoutes(["/reports/<report_id>"])
    assert routes.has_rule("/reports/<report_id>")
    assert not routes.has_rule("/reports/1") and routes.test("/reports/1")


def test_a_large_batch_pauses_the_collector_and_restores_it(monkeypatch):
    """Thousands of rules allocate hundreds of thousands of small objects, none of them garbage:
    the collector is paused for the batch (two thirds of the time went to it), then on again."""
    import gc

    from dash_auth_core import _bulk

    seen = []
    original = Map.add

    def add(self, rule):
        seen.append(gc.isenabled())
        return original(self, rule)

    monkeypatch.setattr(Map, "add", add)
    assert gc.isenabled()
    PublicRoutes([f"/r/{i}/<x>" for i in range(_bulk.THRESHOLD)])
    assert seen and not any(seen) and gc.isenabled()
    seen.clear()
    PublicRoutes(["/small/<x>"])  # a small batch leaves it alone
    assert seen == [True]
    with pytest.raises(ConfigurationError):
        PublicRoutes([*(f"/r/{i}/<x>" for i in range(_bulk.THRESHOLD)), "/bad/<x"])
    assert gc.isenabled()  # also after a failing batch
    gc.disable()
    try:
        PublicRoutes([f"/r/{i}/<x>" for i in range(_bulk.THRESHOLD)])
        assert not gc.isenabled()  # an app that turned it off keeps it off
    finally:
        gc.enable()
