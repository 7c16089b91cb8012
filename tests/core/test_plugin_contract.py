"""The plugin contract is enforced: answers outside it never let a request in, on every backend.

Each fail-open case here let a request through before the chain checked answers:
an ``async def authenticate`` (its coroutine was taken as the user), a ``dict``
from ``authenticate`` (``current_user()`` returned it), and a ``REJECT`` that a
provider asked earlier in the chain never reached.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time

import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import (
    REJECT,
    AuthStack,
    ConfigurationError,
    Identity,
    RequestRefused,
    Response,
    current_user,
    hookimpl,
    json_error,
)
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash, registered, sign_out

HOOKS = ("authenticate", "authorize", "challenge", "on_login", "on_logout", "setup")
ALICE = basic_header("alice", "wonderland")


def make_app(**options):
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def show(n):
        user = current_user()
        return type(user).__name__ + ":" + (user.id if isinstance(user, Identity) else repr(user))

    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, **options)
    return app


def call_back(client, app, headers=None):
    return client.post("/_dash-update-component", json=callback_body(app, "o.children"), headers=headers or {})


# -- async hooks are refused when the plugin joins ---------------------------------


def _async_plugin(hook):
    namespace: dict = {"hookimpl": hookimpl}
    args = {
        "authenticate": "request", "authorize": "identity, resource", "challenge": "request, resource, reason",
        "on_login": "identity, request", "on_logout": "identity, request", "setup": "app, auth",
    }[hook]
    exec(f"class AsyncPlugin:\n    @hookimpl\n    async def {hook}(self, {args}):\n        return None\n", namespace)
    return namespace["AsyncPlugin"]()


@pytest.mark.parametrize("hook", HOOKS)
def test_an_async_hook_is_refused_at_registration(hook):
    app = make_app()
    stack = AuthStack.of(app)
    plugin = _async_plugin(hook)
    with pytest.raises(ConfigurationError, match=f"implements {hook} with 'async def'"):
        stack.register(plugin)
    assert stack.plugin_name(plugin) is None  # nothing half-registered
    with pytest.raises(ConfigurationError, match="async def"):
        AuthStack.of(make_dash("another"), secret_key=SECRET, plugins=[_async_plugin(hook)])
    # The app is as private as before.
    assert client_for(app).get("/").status_code == 401


@pytest.mark.parametrize("hook", ["on_logout", "authenticate"])
def test_a_default_plugin_with_an_async_hook_is_refused_too(hook, monkeypatch):
    """``register_default_plugin``: stacks created later check it as ``register`` does (its
    ``async def on_logout`` would silently never run: no revocation at sign-out)."""
    from dash_auth_core import plugins

    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", plugins.DEFAULT_PLUGINS)  # restored after the test
    with contextlib.suppress(ConfigurationError):  # stacks alive from earlier tests refuse it at once
        plugins.register_default_plugin(_async_plugin(hook), name="async-default")
    app = make_dash(__name__)
    app.layout = html.Div("x")
    with pytest.raises(ConfigurationError, match=f"implements {hook} with 'async def'"):
        AuthStack.of(app, secret_key=SECRET)


def test_every_hook_works_in_its_plain_form():
    seen: list[str] = []

    class Everything:
        @hookimpl
        def setup(self, app, auth):
            seen.append("setup")
            auth.add_route("/signin-everything", self.signin, public=True, endpoint="everything_signin")

        def signin(self, request):
            request.auth.login(Identity(id="eve", provider="everything"), request)
            return Response(200, "in")

        @hookimpl
        def authenticate(self, request):
            return Identity(id="robot", provider="everything") if request.header("X-Robot") == "yes" else None

        @hookimpl
        def authorize(self, identity, resource):
            seen.append("authorize")
            return False if identity is not None and identity.id == "robot" and resource.name == "/" else None

        @hookimpl
        def challenge(self, request, resource, reason, refused_by):
            seen.append(f"challenge:{reason}")
            return None

        @hookimpl
        def on_login(self, identity, request):
            seen.append(f"login:{identity.id}")

        @hookimpl
        def on_logout(self, identity, request):
            seen.append(f"logout:{identity.id if identity else None}")

    app = make_app()
    with registered(app, Everything()):
        client = client_for(app)
        assert client.get("/", headers={"X-Robot": "yes"}).status_code == 403
        robot = call_back(client, app, {"X-Robot": "yes"})
        assert json.loads(robot.data)["response"]["o"]["children"] == "Identity:robot"
        assert client.get("/signin-everything").status_code == 200
        assert client.get("/").status_code == 200
        assert sign_out(client).status_code == 200
    assert seen[0] == "setup"
    for expected in ("authorize", "challenge:forbidden", "login:eve", "logout:eve"):
        assert expected in seen, (expected, seen)


def test_wrappers_on_decision_hooks_are_refused():
    class Wrapper:
        @hookimpl(wrapper=True)
        def authenticate(self, request):
            return (yield)

    app = make_app()
    with pytest.raises(ConfigurationError, match="wrappers are not supported"):
        AuthStack.of(app).register(Wrapper())


# -- answers outside the contract refuse ---------------------------------------------


class Returns:
    """A plugin whose authenticate returns whatever it was given (built to break the contract)."""

    def __init__(self, value):
        self.value = value

    @hookimpl
    def authenticate(self, request):
        value = self.value
        return value() if callable(value) else value


async def _a_coroutine():
    return Identity(id="mallory")


@pytest.mark.parametrize("value", [
    _a_coroutine,                                  # a sync function handing back a coroutine
    {"id": "mallory", "groups": ["admin"]},        # a dict is not a user
    "mallory",
    1,
    True,
], ids=["coroutine", "dict", "str", "int", "true"])
def test_an_authenticate_answer_outside_the_contract_refuses(value, caplog):
    app = make_app()
    with registered(app, Returns(value), name="broken"):
        client = client_for(app)
        with caplog.at_level(logging.ERROR, logger="dash_auth"):
            assert client.get("/").status_code == 401  # a private app stays private
            response = call_back(client, app)
            assert response.status_code == 401
            # Not even a valid Basic header gets in beside it: the answer counts as a refusal.
            assert client.get("/", headers=ALICE).status_code == 401
        errors = [r for r in caplog.records if "outside the contract" in r.getMessage()]
        assert len(errors) == 1  # logged once, naming the plugin
        assert "'broken'" in errors[0].getMessage() and "authenticate" in errors[0].getMessage()


def test_an_authenticate_that_raises_refuses_and_is_logged(caplog):
    class Boom:
        @hookimpl
        def authenticate(self, request):
            raise KeyError("directory down")

    app = make_app()
    with registered(app, Boom(), name="boom"), caplog.at_level(logging.ERROR, logger="dash_auth"):
        client = client_for(app)
        assert client.get("/", headers=ALICE).status_code == 401
        assert call_back(client, app, ALICE).status_code == 401
    assert "authenticate hook of 'boom'" in caplog.text


def test_request_refused_answers_with_its_status_and_headers():
    class Store:
        down = True

        @hookimpl
        def authenticate(self, request):
            if self.down:
                raise RequestRefused("the session store is unreachable", 503, retry_after=5)

    app = make_app()
    store = Store()
    with registered(app, store):
        client = client_for(app)
        for response in (client.get("/", headers=ALICE), call_back(client, app, ALICE)):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"
            assert response.get_json() == {"error": "unavailable", "message": "the session store is unreachable"}
        store.down = False
        assert client.get("/", headers=ALICE).status_code == 200


def test_request_refused_takes_only_error_statuses():
    with pytest.raises(ValueError, match="4xx or 5xx"):
        RequestRefused("fine", 200)


@pytest.mark.parametrize("vote", ["yes", 1, 0, [], Identity(id="x")], ids=["str", "one", "zero", "list", "identity"])
def test_an_authorize_vote_outside_the_contract_denies(vote, caplog):
    class Votes:
        @hookimpl
        def authorize(self):
            return vote

    app = make_app()
    with registered(app, Votes(), name="voter"), caplog.at_level(logging.ERROR, logger="dash_auth"):
        client = client_for(app)
        assert client.get("/", headers=ALICE).status_code == 403
        assert call_back(client, app, ALICE).status_code == 403
    assert "authorize hook of 'voter'" in caplog.text


def test_an_authorize_that_raises_denies():
    class Boom:
        @hookimpl
        def authorize(self, resource):
            raise RuntimeError("rules engine down")

    app = make_app()
    with registered(app, Boom()):
        assert client_for(app).get("/", headers=ALICE).status_code == 403


def test_request_refused_from_authorize_answers_with_its_status_not_a_500():
    """A rule store that is down refuses with 503 from ``authorize`` too (the chain lets it through)."""

    class Rules:
        @hookimpl
        def authorize(self, resource):
            raise RequestRefused("the rules store is unreachable", 503, retry_after=5)

    app = make_app()
    with registered(app, Rules()):
        client = client_for(app)
        for response in (client.get("/", headers=ALICE), call_back(client, app, ALICE), client.get("/")):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"
            assert response.get_json() == {"error": "unavailable", "message": "the rules store is unreachable"}
        page = client.get("/", headers={**ALICE, "Accept": "text/html"})
        assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("error", [RequestRefused("the session store is unreachable", 503), RuntimeError("audit down")],
                         ids=["refused", "raises"])
@pytest.mark.parametrize("way", ["header", "form"])
def test_a_login_whose_on_login_fails_does_not_stand(error, way):
    """An ``on_login`` that fails (a store that must record the login is down) leaves nobody
    signed in: the refused answer used to carry a session cookie holding the login."""

    class Recorder:
        @hookimpl
        def on_login(self, identity, request):
            raise error

    app = make_dash(__name__)
    app.layout = html.Div("THE PRIVATE LAYOUT")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET, login_form=way == "form")
    with registered(app, Recorder()):
        client = client_for(app)
        if way == "header":
            assert client.get("/", headers=ALICE).status_code in (401, 503)
        else:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
            with contextlib.suppress(Exception):  # a test client may re-raise the view's error
                client.post("/login", data={"csrf_token": token.group(1), "username": "alice",
                                            "password": "wonderland", "next": "/"})
        layout = client.get("/_dash-layout")  # the session cookie alone, no credentials
        assert layout.status_code == 401 and b"THE PRIVATE LAYOUT" not in layout.data


def test_a_challenge_outside_the_contract_is_skipped():
    class BadChallenges:
        @hookimpl(tryfirst=True)
        def challenge(self, request, resource):
            if resource.wants_json:
                return Response(302, "", headers={"Location": "/login"})  # a redirect for a callback
            return {"status": 200}

    app = make_app()
    with registered(app, BadChallenges()):
        client = client_for(app)
        page = client.get("/")
        assert page.status_code == 401 and "Basic" in page.headers["WWW-Authenticate"]
        callback = call_back(client, app)
        assert callback.status_code == 401 and callback.get_json()["error"] == "unauthenticated"


# -- wrong credentials refuse whatever the order ------------------------------------------


class Keys:
    """A key provider: ``X-Key`` must be ``right``."""

    @hookimpl
    def authenticate(self, request):
        key = request.header("X-Key")
        if key is None:
            return None
        return Identity(id="robot", provider="keys") if key == "right" else REJECT

    @hookimpl
    def challenge(self, request, resource, refused_by):
        if refused_by is self:
            return json_error(401, "invalid_key", "the key was not accepted")
        return None


@pytest.mark.parametrize("order", ["key-plugin-first", "key-plugin-last", "key-plugin-tryfirst"])
def test_a_wrong_credential_is_never_masked_by_another_providers_valid_one(order):
    app = make_dash(__name__)
    app.layout = html.Div("private")
    keys = Keys()
    if order == "key-plugin-first":  # joins before the front door: asked after Basic
        AuthStack.of(app, secret_key=SECRET, plugins=[keys])
        BasicAuth(app, {"alice": "wonderland"})
    elif order == "key-plugin-last":
        BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
        AuthStack.of(app).register(keys)
    else:
        class Early(Keys):
            authenticate = hookimpl(tryfirst=True)(Keys.authenticate)

        BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
        AuthStack.of(app).register(keys := Early())
    client = client_for(app)
    assert client.get("/", headers={"X-Key": "right"}).status_code == 200
    refused = client.get("/", headers={"X-Key": "wrong", **ALICE})
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_key"  # the refusing plugin answered first
    # Nor does a valid session: sign in with Basic, then send a wrong key with the cookie.
    assert client.get("/", headers=ALICE).status_code == 200
    assert client.get("/", headers={"X-Key": "wrong"}).status_code == 401
    assert client.get("/").status_code == 200


def test_the_refusing_plugins_challenge_is_asked_first_and_told_who_refused():
    told = []

    class Listener:
        @hookimpl(tryfirst=True)
        def challenge(self, refused_by):
            told.append(refused_by)

    app = make_app()
    keys = Keys()
    with registered(app, keys), registered(app, Listener()):
        client = client_for(app)
        assert client.get("/", headers={"X-Key": "wrong"}).get_json()["error"] == "invalid_key"
        assert told == []  # the refusing plugin answered before the tryfirst one was asked
        assert client.get("/").status_code == 401  # nobody refused anything: Basic's prompt
        assert told == [None]
        response = call_back(client, app, {"X-Key": "wrong"})
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_key"


def test_the_first_identity_wins_when_nobody_rejects():
    class Carol:
        @hookimpl
        def authenticate(self, request):
            return Identity(id="carol") if request.header("X-Carol") else None

    app = make_app()
    with registered(app, Carol()):
        client = client_for(app)
        # Carol joined last, so she is asked first; Basic's valid header is asked too, and agrees to disagree.
        body = json.loads(call_back(client, app, {"X-Carol": "1", **ALICE}).data)
        assert body["response"]["o"]["children"] == "Identity:carol"


# -- per-app settings and signing -------------------------------------------------------


class Configured:
    name = "configured"

    @hookimpl
    def setup(self, app, auth):
        config = auth.plugin_config(self)
        if "greeting" not in config:
            raise ConfigurationError("plugin_config['configured'] needs a 'greeting'")
        auth.plugin_state["configured"] = config["greeting"]
        auth.add_route("/greeting", lambda request: Response(200, request.auth.plugin_state["configured"]),
                       public=True, endpoint="configured_greeting")


def test_plugin_config_is_per_app_and_checked_at_start_up():
    one = make_app(plugin_config={"configured": {"greeting": "hello"}}, plugins=[Configured()])
    assert client_for(one).get("/greeting").data == b"hello"
    two = make_dash("second_app")
    two.layout = html.Div("x")
    with pytest.raises(ConfigurationError, match="needs a 'greeting'"):
        AuthStack.of(two, secret_key=SECRET, plugins=[Configured()])
    with pytest.raises(ConfigurationError, match="two different plugin_config values"):
        AuthStack.of(one).configure(plugin_config={"configured": {"greeting": "changed"}})

    class Quiet:
        name = "quiet"

        @hookimpl
        def setup(self, auth):
            auth.plugin_state["quiet"] = auth.plugin_config("quiet")

    AuthStack.of(one).register(Quiet())
    with pytest.raises(ConfigurationError, match="comes after the plugin was set up"):
        AuthStack.of(one).configure(plugin_config={"quiet": {"too": "late"}})
    with pytest.raises(ConfigurationError, match="must be a dict"):
        AuthStack.of(one).configure(plugin_config={"configured": "hello"})


def test_plugin_config_for_an_unknown_plugin_is_logged_at_the_first_request(caplog):
    app = make_app(plugin_config={"typo_plugin": {"x": 1}})
    with caplog.at_level(logging.WARNING, logger="dash_auth"):
        client_for(app).get("/")
    assert "plugin_config names plugins this app does not have: 'typo_plugin'" in caplog.text


def test_sign_and_unsign_with_the_apps_secret(monkeypatch):
    app = make_app()
    stack = AuthStack.of(app)
    token = stack.sign({"invite": "bob"}, salt="test.invite")
    assert stack.unsign(token, salt="test.invite") == {"invite": "bob"}
    assert stack.unsign(token, salt="test.other") is None  # another purpose
    assert stack.unsign(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), salt="test.invite") is None
    for junk in (None, "", "x" * 70_000, 12, "not.a.token"):
        assert stack.unsign(junk, salt="test.invite") is None
    other = make_dash("other_secret")
    other.layout = html.Div("x")
    assert AuthStack.of(other, secret_key="another-secret-0123456789").unsign(token, salt="test.invite") is None
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    assert stack.unsign(token, salt="test.invite", max_age=60) is None
    assert stack.unsign(token, salt="test.invite", max_age=600) == {"invite": "bob"}


def test_sign_uses_a_secret_the_server_already_had():
    app = make_dash(__name__)
    app.layout = html.Div("x")
    if app.backend.server_type == "fastapi":
        from starlette.middleware.sessions import SessionMiddleware

        app.server.add_middleware(SessionMiddleware, secret_key="server-own-secret-0123456789")
    else:
        app.server.secret_key = "server-own-secret-0123456789"
    stack = AuthStack.of(app)
    assert stack.unsign(stack.sign(["x"], salt="s"), salt="s") == ["x"]


# -- first-party packages use only the public API ---------------------------------------


def test_first_party_packages_import_only_the_public_api():
    import ast
    import pathlib

    import dash_auth_core

    public_modules = {"dash_auth_core", "dash_auth_core.testing", "dash_auth_core.plugins", "dash_auth_core.sessions",
                      "dash_auth_core.hookspecs", "dash_auth_core.protocols", "dash_auth_core.csrf",
                      "dash_auth_core.ui", "dash_auth_core.components", "dash_auth_core.user_code"}
    root = pathlib.Path(__file__).parents[2] / "packages"
    problems = []
    for package in ("basic", "oidc", "groups", "clerk"):
        for path in (root / package / "src").rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dash_auth_core"):
                    if node.module not in public_modules:
                        problems.append(f"{path.name}: from {node.module} import ...")
                    elif node.module == "dash_auth_core":
                        for alias in node.names:
                            if alias.name not in dash_auth_core.__all__ and alias.name not in ("plugins", "csrf"):
                                problems.append(f"{path.name}: {alias.name} is not in dash_auth_core.__all__")
    assert problems == []
    # ... and the core neither imports them nor names their modules in code (prose may mention them).
    siblings = ("dash_auth_basic", "dash_auth_groups", "dash_auth_oidc", "dash_auth_clerk")
    for path in (root / "core" / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            named = []
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                named = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and " " not in node.value:
                named = [node.value]
            for name in named:
                assert not name.startswith(siblings), f"{path.name} names {name}"


def test_a_page_rule_nobody_declares_fails_closed(monkeypatch):
    from dash_auth_core import plugins

    monkeypatch.setattr(plugins, "declared", lambda group: {})
    app = make_dash(__name__, use_pages=True, pages_folder="")
    import dash

    dash.register_page("secret", path="/secret", layout=html.Div("secret"), groups=["admins"])
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    assert AuthStack.get(app) is not None
    with pytest.raises(ConfigurationError, match="no installed distribution enforces"):
        AuthStack.get(app).guard.snapshot()


def test_options_a_distribution_declares_are_known(monkeypatch):
    app = make_dash(__name__)
    app.layout = html.Div("x")
    stack = AuthStack.of(app, secret_key=SECRET, auth_protect_layouts=True)
    assert stack.get_plugin("dash_auth_groups.plugin") is not None
    with pytest.raises(ConfigurationError, match="did you mean 'auth_protect_layouts'"):
        AuthStack.of(app, auth_protect_layout=True)


def test_hook_order_is_pluggy_order_documented(caplog):
    """The plugin that joined last is asked first; rejects win regardless (checked above)."""
    asked = []

    def plugin(label):
        class P:
            @hookimpl
            def authenticate(self, request):
                asked.append(label)

        return P()

    app = make_app()
    stack = AuthStack.of(app)
    stack.register(plugin("first"))
    stack.register(plugin("second"))
    client_for(app).get("/")
    assert asked[:2] == ["second", "first"]


def test_json_refusals_keep_their_shape():
    app = make_app()
    response = call_back(client_for(app), app)
    assert response.status_code == 401
    assert json.loads(response.data)["error"] == "unauthenticated"
