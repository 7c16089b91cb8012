"""Every private API of Dash, Flask, Quart, Starlette and redis-py that dash-auth-core uses, one module per library.

The guard has to know things those libraries keep to themselves: which
callback is Dash's Pages router, which page Dash renders for a path, the
context variable that holds Flask's request, where Quart caches a parsed
body, the attribute in which Starlette caches a request's JSON, the socket
of redis-py's connection that the session store's tracking thread reads. Each such
name is used in exactly one of these modules:

* :mod:`dash_auth_core._private.dash`
* :mod:`dash_auth_core._private.flask`
* :mod:`dash_auth_core._private.quart`
* :mod:`dash_auth_core._private.starlette`
* :mod:`dash_auth_core._private.redis`

and nowhere else in the project (``tests/core/test_private_apis.py`` scans
the sources for strays). Each module binds what it needs when it is
imported, so a release of the library that drops a name makes
``import dash_auth_core`` (or the backend's adapter) fail at once with
:class:`PrivateAPIChanged`, naming the module and the library's version,
instead of a guard that quietly lets requests through. Each module's
``check()`` also probes the behaviour the stack relies on; the tests run
every probe against the installed versions, and the lowest-versions and
newest-versions jobs run them against both ends of the supported range.

Hot-path uses bind the private object itself (a context variable, a
function), so going through these modules adds no call per request.

dash-auth-oidc uses only public APIs of authlib and joserfc (the same scan
covers it).
"""

from __future__ import annotations

from importlib import metadata


class PrivateAPIChanged(ImportError):
    """A private API of Dash, Flask, Quart or Starlette that dash-auth-core relies on has changed."""


def installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def changed(module: str, distribution: str, what: str) -> PrivateAPIChanged:
    """The error for a private API that is gone or behaves differently, naming who relies on it."""
    return PrivateAPIChanged(
        f"{module}: {distribution} {installed_version(distribution)} changed a private API that "
        f"dash-auth-core relies on: {what}. Install a {distribution} version within dash-auth-core's "
        f"declared range (pip show dash-auth-core), or a dash-auth-core release that supports this one."
    )


def run_probes(module: str, distribution: str, probes: dict[str, object]) -> list[str]:
    """Run ``probes`` (description -> callable raising or returning a falsy value on a mismatch)."""
    problems = []
    for what, probe in probes.items():
        try:
            ok = probe()  # type: ignore[operator]
        except Exception as exc:  # any failure of a probe is the message
            problems.append(f"{changed(module, distribution, what)} ({type(exc).__name__}: {exc})")
            continue
        if ok is False:
            problems.append(str(changed(module, distribution, what)))
    return problems
