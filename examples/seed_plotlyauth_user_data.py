"""The old PlotlyAuth gist's user-data example: ``get_username``, ``get_user_data``, ``set_user_data``.

Changed lines are marked ``# was:``. The imports moved (Dash 2 folded
``dash_html_components`` into ``dash``). ``PlotlyAuth`` signed users in at
plot.ly, which no longer exists: any provider works here (``BasicAuth``), and
the hook PlotlyAuth called at each sign-in (``is_authorized_hook``) is the
stack's ``on_login`` hook. The callbacks are the gist's, unchanged.
"""

import dash
from dash import html  # was: import dash_html_components as html
from dash.dependencies import Input, Output

from dash_auth_basic import BasicAuth  # was: import dash_auth
from dash_auth_core import hookimpl  # was: (nothing)

app = dash.Dash()
auth = BasicAuth(app, {"alice": "alice-password", "bob": "bob-password"},  # was: dash_auth.PlotlyAuth(
                 secret_key="a-static-secret-key-of-32-chars!")             #   app, 'my_app', 'private', URL)
ACTIVE = {"alice"}  # was: (plot.ly's answer said whether the user is active)

app.layout = html.Div([
    html.Div(id='content'),
    html.Button('Need perms', id='btn'),
    html.Div(id='authorized'),
])


@app.callback(Output('content', 'children'), [Input('content', 'id')])
def _give_name(_):
    username = auth.get_username()
    return username


def _is_authorized(data):
    active = data.get('is_active')
    if active:
        auth.set_user_data({'click_button': True})
    return active


class IsAuthorizedHook:  # was: @auth.is_authorized_hook on _is_authorized
    @hookimpl
    def on_login(self, identity, request):
        _is_authorized({"username": identity.id, "is_active": identity.id in ACTIVE})


auth.stack.register(IsAuthorizedHook())


@app.callback(Output('authorized', 'children'), [Input('btn', 'n_clicks')])
def _check_perms(n_clicks):
    if n_clicks:
        perms = auth.get_user_data()
        perm_click_button = perms.get('click_button')
        if not perm_click_button:
            return 'unauthorized'
        return 'authorized'


if __name__ == '__main__':
    app.run(debug=True)  # was: app.run_server(debug=True)
