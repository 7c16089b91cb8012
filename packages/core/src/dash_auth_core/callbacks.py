"""Public callbacks and what the server's callback registry says about each id.

``public_callback`` takes the same arguments as ``dash.callback`` and marks
its registration (a thin wrapper of the decorated function). Which callback
ids are public is read later from the app's own ``callback_map`` (Dash's
registration), by following each registered function back to a marked one,
so ids never come from source text and registration order (clientside
callbacks, ``DashProxy`` transforms) does not matter.
"""

from __future__ import annotations

import functools
import inspect
import json
import operator
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dash

from ._private.dash import PAGES_LOCATION_ID, PAGES_ROUTER_ID, is_pages_router
from .errors import BadRequest

_public_functions: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def public_callback(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a callback that runs without a logged-in user.

    Same arguments as :func:`dash.callback`. Use it for callbacks that live on
    public pages.
    """
    register = dash.callback(*args, **kwargs)

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        # The registration is public, not the function: the same function
        # registered elsewhere with ``app.callback`` stays private.
        register(mark_public(_registration_of(func)))
        return func

    return decorator


def _registration_of(func: Callable[..., Any]) -> Callable[..., Any]:
    """A distinct function that calls ``func`` (``__wrapped__`` keeps its signature and name)."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def registered_async(*args: Any, **kwargs: Any) -> Any:
            return await func(*args, **kwargs)

        return registered_async

    @functools.wraps(func)
    def registered(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return registered


def mark_public(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``func`` public wherever it is registered (``app.callback``, blueprints, ``DashProxy``).

    This marks the function itself: every callback it backs is public.
    ``public_callback`` marks only its own registration.
    """
    _public_functions.add(func)
    return func


def is_public_function(func: Any) -> bool:
    """Whether ``func``, or a function it wraps (``__wrapped__``), was marked public."""
    seen = 0
    while func is not None and seen < 32:
        try:
            if func in _public_functions:
                return True
        except TypeError:  # unhashable or not weak-referenceable
            return False
        func = getattr(func, "__wrapped__", None)
        seen += 1
    return False


@dataclass(frozen=True)
class Dependency:
    """One declared input, state or output: what a request body must send for it."""

    id: str | None  #: the exact id for plain string ids
    keys: Mapping[str, Any] | None  #: for dict ids: key -> fixed value, or a wildcard name
    property: str
    many: bool  #: ALL / ALLSMALLER: the body sends a list of matches

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Dependency:
        raw_id, prop = spec.get("id"), str(spec.get("property"))
        if isinstance(raw_id, str) and raw_id.startswith("{"):
            try:
                keys = json.loads(raw_id)
            except ValueError:
                keys = None
            if isinstance(keys, dict):
                wild = {k: v[0] for k, v in keys.items() if isinstance(v, list) and len(v) == 1}
                many = any(w in ("ALL", "ALLSMALLER") for w in wild.values())
                fixed = {k: (_WILDCARD if k in wild else v) for k, v in keys.items()}
                return cls(None, fixed, prop, many)
        return cls(str(raw_id), None, prop, False)

    def accepts(self, item: Any) -> bool:
        """Whether ``item`` from a request body has this dependency's shape."""
        if self.many:
            return isinstance(item, list) and all(self._accepts_one(sub) for sub in item)
        return self._accepts_one(item)

    def _accepts_one(self, item: Any) -> bool:
        if type(item) is not dict or item.get("property") != self.property:
            return False
        ident = item.get("id")
        if self.keys is None:
            return ident == self.id
        if not isinstance(ident, dict) or ident.keys() != self.keys.keys():
            return False
        for key, expected in self.keys.items():
            value = ident[key]
            if expected is _WILDCARD:
                if not isinstance(value, (str, int, float, bool)):
                    return False
            elif value != expected:
                return False
        return True


_WILDCARD = object()


@dataclass(frozen=True)
class CallbackInfo:
    """What the guard needs to know about one registered server callback."""

    id: str
    public: bool
    inputs: tuple[Dependency, ...]
    state: tuple[Dependency, ...]
    outputs: tuple[Dependency, ...]
    multi_output: bool
    no_output: bool
    is_router: bool = False
    pathname_index: int = -1
    pathname_id: str | None = None
    entry: Mapping[str, Any] | None = None
    #: For callbacks whose dependencies all have plain string ids (most of
    #: them): every ``(id, property)`` in body order, with ``_BREAK`` between
    #: the inputs, the state and (several) outputs. See :func:`_body_checker`.
    _plain: tuple[Any, ...] | None = field(init=False, repr=False, compare=False)
    #: ``check_body(body)`` refuses a body that does not match what the registry
    #: declares (raises :class:`BadRequest`). Dash trusts the body's shape and
    #: answers a mismatch with a 500; the guard checks every input, state and
    #: output against the server's own record before any callback runs. A
    #: function made for this callback's shape once (see :func:`_body_checker`).
    check_body: Callable[[Mapping[str, Any]], None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plain = None
        if all(dep.keys is None and not dep.many for dep in self.inputs + self.state + self.outputs):
            pairs = [*_pairs(self.inputs), _BREAK, *_pairs(self.state)]
            if self.multi_output:
                pairs += [_BREAK, *_pairs(self.outputs)]
            elif not self.no_output:
                pairs += _pairs(self.outputs)
            plain = tuple(pairs)
        object.__setattr__(self, "_plain", plain)
        object.__setattr__(self, "check_body", _body_checker(
            plain, functools.partial(_check_all, self.inputs, self.state, self.outputs, self.multi_output,
                                     self.no_output), self.multi_output, self.no_output,
        ))

    def _check_items(self, body: Mapping[str, Any]) -> None:
        """The full check: every item against its declared dependency."""
        _check_all(self.inputs, self.state, self.outputs, self.multi_output, self.no_output, body)


def _check_all(
    inputs: tuple[Dependency, ...], state: tuple[Dependency, ...], outputs: tuple[Dependency, ...],
    multi_output: bool, no_output: bool, body: Mapping[str, Any],
) -> None:
    """The full check of a callback body: every item against its declared dependency."""
    _check_items("inputs", body.get("inputs"), inputs)
    _check_items("state", body.get("state", _EMPTY), state)
    changed = body.get("changedPropIds", _EMPTY)
    if type(changed) is not list or not all(type(item) is str for item in changed):
        raise BadRequest("'changedPropIds' must be a list of strings")
    if not no_output:
        sent = body.get("outputs")
        _check_items("outputs", sent if multi_output else [sent], outputs)


def _body_checker(
    plain: tuple[Any, ...] | None, full: Callable[[Mapping[str, Any]], None], multi_output: bool, no_output: bool,
) -> Callable[[Mapping[str, Any]], None]:
    """The ``check_body`` function of one callback: ``full``, after a fast path when ``plain`` is given.

    Callbacks whose ids are all plain strings first try a fast path of
    C-level steps: adding the lists raises for anything but lists (so does
    adding ``changedPropIds`` to an empty list), ``_ID_PROP`` for anything but
    a mapping with both keys, ``"".join`` for anything but strings. The ``_BREAK`` items put between the lists cannot
    come from JSON, so where they land proves each list's length. Whatever
    the fast path does not accept goes to the full per-item check, which says
    what is wrong. The guard runs it on every callback request: one function
    per output shape (chosen here, once) keeps it to the fewest bytecode steps.
    """
    if plain is None:
        return full
    if multi_output:

        def check_multi(body: Mapping[str, Any]) -> None:
            get: Any = body.get
            try:
                sent = get("inputs") + _BREAK_ITEM + get("state", _EMPTY) + _BREAK_ITEM + get("outputs")
                if tuple(map(_ID_PROP, sent)) == plain:
                    "".join(_EMPTY + get("changedPropIds", _EMPTY))
                    return
            except (KeyError, TypeError):
                pass
            full(body)

        return check_multi
    if no_output:

        def check_no_output(body: Mapping[str, Any]) -> None:
            get: Any = body.get
            try:
                if tuple(map(_ID_PROP, get("inputs") + _BREAK_ITEM + get("state", _EMPTY))) == plain:
                    "".join(_EMPTY + get("changedPropIds", _EMPTY))
                    return
            except (KeyError, TypeError):
                pass
            full(body)

        return check_no_output

    def check_single(body: Mapping[str, Any]) -> None:
        get: Any = body.get
        try:
            # A single output is sent as one object, not a list.
            sent = get("inputs") + _BREAK_ITEM + get("state", _EMPTY) + [get("outputs")]
            if tuple(map(_ID_PROP, sent)) == plain:
                "".join(_EMPTY + get("changedPropIds", _EMPTY))
                return
        except (KeyError, TypeError):
            pass
        full(body)

    return check_single


_ID_PROP = operator.itemgetter("id", "property")
_EMPTY: list[Any] = []
#: Marks where one list of a callback body ends in ``check_body``'s fast path.
_BREAK = (object(), "")
_BREAK_ITEM = [{"id": _BREAK[0], "property": ""}]


def _pairs(deps: tuple[Dependency, ...]) -> list[tuple[str | None, str]]:
    return [(dep.id, dep.property) for dep in deps]


def _check_items(name: str, items: Any, declared: tuple[Dependency, ...]) -> None:
    if type(items) is not list or len(items) != len(declared):
        raise BadRequest(f"'{name}' must be a list of {len(declared)} items")
    for index, dep in enumerate(declared):
        if not dep.accepts(items[index]):
            raise BadRequest(f"'{name}' item {dep.id or dep.property!r} does not match the callback")


def _pathname_input(inputs: list[Any], component_id: str | None) -> tuple[int, str | None]:
    """Position and id of the declared ``pathname`` input (of ``component_id`` if given)."""
    for i, spec in enumerate(inputs):
        if spec.get("property") == "pathname" and (component_id is None or spec.get("id") == component_id):
            return i, spec.get("id")
    return -1, None


def describe_callbacks(app: dash.Dash, page_container: str | None = None) -> dict[str, CallbackInfo]:
    """Read the app's callback registry into :class:`CallbackInfo` records.

    The routing callback is Dash Pages' own router, or, when ``page_container``
    names a component, a server callback that writes that component's
    ``children`` from a ``pathname`` input: the registry, not the request,
    says which callback routes and where its pathname is.
    """
    infos: dict[str, CallbackInfo] = {}
    # Apps with thousands of callbacks share most dependencies (one button, many outputs):
    # each distinct (id, property) is read once.
    known: dict[Any, Dependency] = {}

    def dependency(spec: Mapping[str, Any]) -> Dependency:
        key = (spec.get("id"), spec.get("property"))
        try:
            found = known.get(key)
        except TypeError:  # an unhashable id: not worth remembering
            return Dependency.from_spec(spec)
        if found is None:
            found = known[key] = Dependency.from_spec(spec)
        return found

    def output_dependency(output: Any) -> Dependency:
        component_id = getattr(output, "component_id", None)
        if isinstance(component_id, str):  # to_dict() would give it as it is
            return dependency({"id": component_id, "property": output.component_property})
        return dependency(output.to_dict())

    for cid, entry in list(app.callback_map.items()):
        if "callback" not in entry:  # clientside entries have nothing to run
            continue
        raw_output = entry.get("output")
        multi = isinstance(raw_output, (list, tuple))
        outputs = raw_output if multi else [raw_output]
        inputs = entry.get("inputs") or []
        pathname_index, pathname_id = -1, None
        if getattr(app, "use_pages", False) and cid == PAGES_ROUTER_ID and is_pages_router(entry.get("callback")):
            pathname_index, pathname_id = _pathname_input(inputs, PAGES_LOCATION_ID)
        elif page_container and any(
            getattr(o, "component_id", None) == page_container and getattr(o, "component_property", None) == "children"
            for o in outputs
        ):
            pathname_index, pathname_id = _pathname_input(inputs, None)
        is_router = pathname_index >= 0
        infos[cid] = CallbackInfo(
            id=cid,
            public=is_public_function(entry.get("callback")),
            inputs=tuple(map(dependency, inputs)),
            state=tuple(map(dependency, entry.get("state") or ())),
            outputs=tuple(output_dependency(o) for o in outputs if hasattr(o, "to_dict")),
            multi_output=multi,
            no_output=bool(entry.get("no_output")),
            is_router=is_router,
            pathname_index=pathname_index,
            pathname_id=pathname_id,
            entry=entry,
        )
    return infos
