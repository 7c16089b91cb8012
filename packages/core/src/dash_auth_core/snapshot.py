"""What the guard knows about an app once Dash has set it up, and how a path is judged as a page.

The guard computes a :class:`Snapshot` lazily at the first request (when
Dash has finished registering callbacks and pages) and again only when the
registries change; :func:`judge_page` decides which page a path shows and
whether it is public, for that snapshot's page cache.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import pages
from .errors import BadRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from .callbacks import CallbackInfo
    from .resources import Resource
    from .routes import PublicRoutes

log = logging.getLogger("dash_auth")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Snapshot:
    """What the guard knows about the app once Dash has set it up."""

    callbacks: dict[str, CallbackInfo]
    callback_resources: dict[str, Resource]
    callback_map_size: int
    routes_version: int
    has_public_pages: bool
    has_public_callbacks: bool = False
    hook_routes: frozenset[str] = field(default_factory=frozenset)
    page_cache: dict[str, tuple[Any, bool]] = field(default_factory=dict)

    def page_for(self, rel: str, routes: PublicRoutes) -> tuple[Any, bool]:
        """The ``dash.page_registry`` entry Dash renders for ``rel`` (``None`` if none), and whether
        it is public (see :func:`judge_page`); cached."""
        cache = self.page_cache
        hit = cache.get(rel)
        if hit is not None:
            return hit
        page, public = judge_page(rel, routes)
        if len(cache) >= 4096:
            cache.clear()
        cache[rel] = hit = (page, public)
        return hit



def judge_page(rel: str, routes: PublicRoutes) -> tuple[Any, bool]:
    """The page Dash renders for ``rel`` (``None`` if none), and whether it is public.

    A path is public when a public route matches it, except when Dash
    renders a template page for it that shadows another page the path also
    matches, or whose variables it fills with several segments (``/api/public``
    for ``/<slug>``): then the template page itself must be public (a public
    route matches its template), since the rule may have been written for the
    page it hides, or for a server route.
    """
    if _CONTROL.search(rel):
        # No browser sends them (it percent-encodes), and Dash's template matching fails on them.
        raise BadRequest("the path holds control characters")
    page = pages.resolve(rel)
    public = routes.test(rel)
    template = page.get("path_template") if page is not None else None
    if not (public and template):
        return page, public
    if _depth(rel) != _depth(str(template)):
        why = "filling its variables with several segments"
    elif pages.shadows_another(rel, page):
        why = "which shadows another page"
    else:
        return page, public
    template = "/" + str(template).strip("/")
    sample = pages.sample_path(page)
    public = routes.has_rule(template) or (sample is not None and routes.test(sample))
    if not public:
        log.warning("%s is not public: Dash renders the template page %s for it, %s; make %s public "
                    "to publish it", rel, template, why, template)
    return page, public


def publishes_a_page(rule: str, routes: PublicRoutes) -> bool:
    """Whether a public route publishes an instance of a template page with a fixed segment
    (``/team/public`` for ``/team/<id>``). A catch-all template (``/<slug>``) matches server
    routes' paths too (``/healthz``): such a rule does not publish the shell."""
    try:
        page, public = judge_page(rule, routes)
    except BadRequest:
        return False
    template = page.get("path_template") if page is not None else None
    return bool(public and template) and any("<" not in part for part in str(template).strip("/").split("/"))


def _depth(path: str) -> int:
    """How many segments a path (or a page's template) has."""
    return len(path.strip("/").split("/"))


def template_rules_publish(routes: PublicRoutes, routes_prefix: str, plugin_route_public: Callable[[str], bool | None]) -> bool:
    """Whether a public route publishes one instance of a template page (``/team/public`` under
    ``/team/<id>``), unless the stack's own view answers that path (a login form under a catch-all page).

    Resolving a path walks every page (Dash's own resolver): only rules that some
    template page could be resolved for are judged (thousands of rules and pages).
    """
    import dash

    templates = pages.TemplateIndex(dash.page_registry.values())
    return bool(templates) and any(
        "<" not in rule
        and templates.may_resolve(rule)
        and plugin_route_public(routes_prefix + rule.lstrip("/")) is None
        and publishes_a_page(rule, routes)
        for rule in routes.rules
    )


def single_layout_publishing(app: Any, routes_prefix: str, routes: PublicRoutes) -> list[str]:
    """The public routes that Dash's index answers, in an app with one layout (no Dash Pages)."""
    publishing = []
    for rule in routes.rules:
        sample = pages.rule_sample(rule)
        if sample is None:  # no path of the rule's own can be made: it publishes nothing known
            continue
        answers = pages.index_answers(app, routes_prefix + sample.lstrip("/"))
        if answers or (answers is None and rule == "/"):
            publishing.append(rule)
    return publishing
