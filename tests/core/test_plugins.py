"""Writing plugins: the example provider, entry points, ordering and safety switches."""

from __future__ import annotations

import importlib.util
import pathlib
from importlib import metadata

import pluggy
import pytest
from dash import Input, Output, html
from helpers import SECRET

from dash_auth_basic import BasicAuth
from dash_auth_core import AuthStack, ConfigurationError, Identity, hookimpl, plugins
from dash_auth_core.testing import basic_header, callback_body, client_for, make_dash

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "api_key_plugin.py"


def load_example():
    spec = importlib.util.spec_from_file_location("api_key_plugin_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_app():
    app = make_dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def show(n):
        return "ok"

    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET)
    return app


KEY = "k-123-0123456789abcdef"


def test_example_plugin_registered_through_public_api():
    module = load_example()
    app = make_app()
    stack = AuthStack.of(app)
    stack.configure(plugin_config={"api_key": {"keys": {KEY: "build-bot"}}})
    plugin = module.ApiKeyProvider()
    stack.register(plugin)
    try:
        client = client_for(app)
        key = {"X-API-Key": KEY}
        assert client.post("/_dash-update-component", json=callback_body(app, "o.children"), headers=key).status_code == 200
        assert client.get("/api/whoami", headers=key).data == b"build-bot"
        # keys are refused for pages by the plugin's authorize vote
        assert client.get("/", headers=key).status_code == 403
        # a wrong key is the plugin's to refuse, with its own JSON 401 (not Basic's browser prompt)
        wrong = client.get("/", headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_api_key"
        assert "WWW-Authenticate" not in wrong.headers
        # and no valid Basic header riding along rescues it
        both = client_for(app).get("/", headers={"X-API-Key": "nope", **basic_header("alice", "wonderland")})
        assert both.status_code == 401 and both.get_json()["error"] == "invalid_api_key"
        # the Basic provider still works beside it
        assert client.get("/", headers=basic_header("alice", "wonderland")).status_code == 200
    finally:
        stack.unregister(plugin)
    fresh = client_for(app)
    assert fresh.post("/_dash-update-component", json=callback_body(app, "o.children"),
                      headers={"X-API-Key": KEY}).status_code == 401


def _fake_entry_points(monkeypatch, module, *extra):
    import sys

    sys.modules["api_key_plugin_example"] = module
    eps = [metadata.EntryPoint(name="api_key", value="api_key_plugin_example:plugin", group="dash_auth"), *extra]

    def entry_points(group=None, **_):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(plugins.metadata, "entry_points", entry_points)


def test_entry_point_plugin_joins_the_chain_with_this_apps_settings(monkeypatch):
    module = load_example()
    _fake_entry_points(monkeypatch, module)
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    monkeypatch.delenv(plugins.ALLOW_ENV, raising=False)
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, {"alice": "wonderland"}, secret_key=SECRET,
              plugin_config={"api_key": {"keys": {"ep-key-0123456789abcdef": "from-entry-point"}}})
    assert AuthStack.of(app).get_plugin("api_key") is module.plugin
    client = client_for(app)
    assert client.get("/api/whoami", headers={"X-API-Key": "ep-key-0123456789abcdef"}).data == b"from-entry-point"
    # The entry point joined before the front door (so it is asked last): its refusal still wins.
    refused = client.get("/api/whoami", headers={"X-API-Key": "wrong-key", **basic_header("alice", "wonderland")})
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_api_key"
    # Another app in the same process, with other keys, shares the plugin object but not its keys.
    other = make_dash("other_app")
    other.layout = html.Div("y")
    BasicAuth(other, {"bob": "builder-pw"}, secret_key=SECRET,
              plugin_config={"api_key": {"keys": {"other-key-0123456789ab": "other-bot"}}})
    c2 = client_for(other)
    assert c2.get("/api/whoami", headers={"X-API-Key": "ep-key-0123456789abcdef"}).status_code == 401
    assert c2.get("/api/whoami", headers={"X-API-Key": "other-key-0123456789ab"}).data == b"other-bot"


def test_entry_point_plugin_with_bad_settings_fails_at_start_up(monkeypatch):
    module = load_example()
    _fake_entry_points(monkeypatch, module)
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    app = make_dash(__name__)
    app.layout = html.Div("x")
    with pytest.raises(ConfigurationError, match="api_key"):
        AuthStack.of(app, secret_key=SECRET, plugin_config={"api_key": {"keys": {"short": "bot"}}})


@pytest.mark.parametrize(("disable", "allow", "loaded"), [
    ("1", None, False), (None, "other", False), (None, "api_key", True), (None, "other, api_key", True),
])
def test_entry_point_switches(monkeypatch, caplog, disable, allow, loaded):
    module = load_example()
    _fake_entry_points(monkeypatch, module)
    for name, value in ((plugins.DISABLE_ENV, disable), (plugins.ALLOW_ENV, allow)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    caplog.set_level("INFO", logger="dash_auth")
    pm = plugins.make_manager()
    assert (pm.get_plugin("api_key") is not None) is loaded
    # Every entry point a switch leaves out is logged, with the switch that did it.
    assert ("'api_key'" in caplog.text and "not loaded" in caplog.text) is not loaded


def test_entry_points_load_in_name_order_and_by_distribution_name(monkeypatch):
    class Dist:
        def __init__(self, name):
            self.name = name

    loaded = []

    def ep(name, dist):
        point = metadata.EntryPoint(name=name, value=f"mod_{name}:plugin", group="dash_auth")
        object.__setattr__(point, "dist", Dist(dist))
        return point

    points = [ep("zeta", "Zeta_Provider"), ep("alpha", "alpha-provider"), ep("mid", "mid-provider")]
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group=None, **_: points if group == "dash_auth" else [])
    monkeypatch.setattr(metadata.EntryPoint, "load", lambda self: loaded.append(self.name) or object())
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    monkeypatch.delenv(plugins.ALLOW_ENV, raising=False)
    plugins.load_entry_points(lambda plugin, name: None, lambda plugin: False)
    assert loaded == ["alpha", "mid", "zeta"]
    loaded.clear()
    monkeypatch.setenv(plugins.ALLOW_ENV, "zeta-provider")  # pip's spelling of Zeta_Provider
    plugins.load_entry_points(lambda plugin, name: None, lambda plugin: False)
    assert loaded == ["zeta"]


def test_misspelt_hook_fails_loudly():
    class Typo:
        @hookimpl
        def authenticat(self, request):  # missing "e"
            return None

    class Fine:
        @hookimpl
        def authenticate(self, request):
            return None

    app = make_app()
    stack = AuthStack.of(app)
    typo = Typo()
    with pytest.raises(pluggy.PluginValidationError):
        stack.register(typo)
    # The failed registration left nothing behind: the chain still takes plugins.
    assert stack.plugin_name(typo) is None
    stack.register(Fine())


def test_any_deny_wins_and_first_identity_wins():
    class Allow:
        @hookimpl
        def authorize(self):
            return True

    class Deny:
        @hookimpl
        def authorize(self):
            return False

    class Carol:
        @hookimpl(tryfirst=True)
        def authenticate(self, request):
            return Identity(id="carol") if request.headers.get("X-Carol") else None

    app = make_app()
    stack = AuthStack.of(app)
    allow, deny, carol = Allow(), Deny(), Carol()
    stack.register(carol)
    client = client_for(app)
    assert client.get("/", headers={"X-Carol": "1"}).status_code == 200
    stack.register(allow)
    assert client_for(app).get("/").status_code == 200  # an explicit allow needs no identity
    stack.register(deny)
    assert client_for(app).get("/", headers=basic_header("alice", "wonderland")).status_code == 403
    for plugin in (allow, deny, carol):
        stack.unregister(plugin)
    assert client_for(app).get("/").status_code == 401


def test_plugin_routes_with_url_variables_are_plugin_routes():
    from dash_auth_core import Kind, Response

    seen = []

    class Spy:
        @hookimpl
        def authorize(self, resource):
            seen.append((resource.kind, resource.public))

    app = make_app()
    stack = AuthStack.of(app)
    stack.add_route("/things/<thing>/open", lambda request, thing: Response(200, f"open {thing}"), public=True,
                    endpoint="things_open")
    stack.add_route("/things/<thing>/closed", lambda request, thing: Response(200, f"closed {thing}"), public=False,
                    endpoint="things_closed")
    spy = stack.register(Spy())
    try:
        client = client_for(app)
        assert client.get("/things/a/open").data == b"open a"
        assert client.get("/things/a/closed").status_code == 401
        assert client.get("/things/a/closed", headers=basic_header("alice", "wonderland")).data == b"closed a"
        assert (Kind.PLUGIN_ROUTE, True) in seen and (Kind.PLUGIN_ROUTE, False) in seen
    finally:
        stack.unregister(spy)


def test_user_groups_add_to_provider_groups_and_session_data_lands_before_on_login():
    from dash import html

    from dash_auth_core import Request, Response

    seen = {}

    class Provider:
        @hookimpl
        def setup(self, app, auth):
            def login(request: Request) -> Response:
                auth.login(Identity(id="dana", groups=("from-idp",), provider="idp"), request,
                           session_data={"idp_state": "kept"})
                return Response(200, "in")

            auth.add_route("/idp-login", login, public=True, endpoint="idp_login")

        @hookimpl
        def on_login(self, identity, request):
            seen["groups"] = identity.groups
            seen["state"] = request.session.get("idp_state")

    app = make_dash(__name__)
    app.layout = html.Div("x")
    stack = AuthStack.of(app, secret_key=SECRET, user_groups={"dana": ["from-app"]}, plugins=[Provider()])
    client = client_for(app)
    assert client.get("/idp-login").status_code == 200
    assert seen == {"groups": ("from-idp", "from-app"), "state": "kept"}
    assert stack.groups_for(Identity(id="dana", groups=("from-idp", "from-app"),
                                     claims={"provider_groups": ["from-idp"]})).groups == ("from-idp", "from-app")


def _idp_login_plugin(identity_id: str, provider: str = "idp"):
    from dash_auth_core import Request, Response

    class Provider:
        @hookimpl
        def setup(self, app, auth):
            def login(request: Request) -> Response:
                identity = auth.login(Identity(id=identity_id, provider=provider), request)
                return Response(200, ",".join(identity.groups))

            auth.add_route("/idp-login", login, public=True, endpoint="idp_login")

    return Provider()


def test_basic_user_groups_hold_for_local_users_only():
    """Another provider's user whose id is a local username gains none of that user's groups."""
    app = make_dash(__name__)
    app.layout = html.Div("x")
    BasicAuth(app, {"admin": "pw"}, user_groups={"admin": ["admins"]}, secret_key=SECRET)
    AuthStack.of(app).register(_idp_login_plugin("admin"))
    client = client_for(app)
    assert client.get("/idp-login").data == b""  # "admin" at the idp is not the local admin
    stack = AuthStack.of(app)
    assert stack.groups_for(Identity(id="admin", provider="basic")).groups == ("admins",)
    assert stack.groups_for(Identity(id="admin", provider="form")).groups == ("admins",)
    assert stack.groups_for(Identity(id="admin", provider="idp")).groups == ()


def test_app_wide_user_groups_take_provider_scoped_keys_and_add_to_a_front_doors():
    app = make_dash(__name__)
    app.layout = html.Div("x")
    stack = AuthStack.of(app, secret_key=SECRET, user_groups={
        ("idp", "dana"): ["idp-only"], "dana": ["anyone-named-dana"], ("other", "dana"): ["not-this"],
    })
    BasicAuth(app, {"dana": "pw"}, user_groups=lambda user: ["local"])
    stack.register(_idp_login_plugin("dana"))
    client = client_for(app)
    assert client.get("/idp-login").data == b"idp-only"
    assert stack.groups_for(Identity(id="dana", provider="basic")).groups == ("anyone-named-dana", "local")
    # One app takes one app-wide table and one per front door, as before.
    with pytest.raises(ConfigurationError, match="two different user_groups"):
        BasicAuth(app, {"erin": "pw"}, user_groups={"erin": ["x"]})
    with pytest.raises(ConfigurationError, match="must be a dict"):
        stack.add_user_groups(["admins"])


def test_plugin_responses_can_repeat_headers():
    from dash_auth_core import Response

    app = make_app()
    AuthStack.of(app).add_route(
        "/two-cookies",
        lambda request: Response(200, "ok", extra_headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")]),
        public=True,
        endpoint="two_cookies",
    )
    c = client_for(app)
    response = c.get("/two-cookies")
    assert response.status_code == 200
    assert c.get_cookie("a").value == "1" and c.get_cookie("b").value == "2"


def test_a_challenge_can_repeat_headers_on_every_backend():
    """Several ``Set-Cookie`` or ``WWW-Authenticate`` headers from the guard's own answers reach the client."""
    from dash_auth_core import Response

    class Challenge:
        @hookimpl(tryfirst=True)
        def challenge(self, request, resource, reason):
            return Response(401, "sign in", "text/plain", {"WWW-Authenticate": 'Basic realm="app"'},
                            extra_headers=[("Set-Cookie", "login_state=abc; Path=/"),
                                           ("WWW-Authenticate", 'Bearer realm="api"')])

    app = make_dash(__name__)
    app.layout = html.Div("x")
    AuthStack.of(app, secret_key=SECRET, plugins=[Challenge()])
    c = client_for(app)
    response = c.get("/")
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="app"', 'Bearer realm="api"']
    assert c.get_cookie("login_state").value == "abc"
