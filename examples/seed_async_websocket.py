"""WebSocket callbacks as dash-auth-async's README advises: routing and login on HTTP, one
streaming callback opted into the socket with ``websocket=True``.

The README gives this advice in prose, without code; this app follows it
(Quart; FastAPI works the same). Here ``websocket_callbacks=True`` with Dash
Pages works too: a private page reached over the socket asks for a login
instead of hanging (see docs/backends.md).
"""

import dash
from dash import Dash, Input, Output, dcc, html

from dash_auth_basic import BasicAuth
from dash_auth_core import current_user

app = Dash(__name__, backend="quart", use_pages=True, pages_folder="", suppress_callback_exceptions=True)
dash.register_page("home", path="/", layout=html.Div([html.H1("Home"), dcc.Link("Live", href="/live")]))
dash.register_page("live", path="/live", layout=html.Div([
    html.H1("Live numbers (signed-in users)"),
    dcc.Interval(id="tick", interval=1000),
    html.Div(id="live-out"),
]))
app.layout = html.Div([dash.page_container])

BasicAuth(app, {"admin": "admin-password", "viewer": "viewer-password"}, public_routes=["/"],
          secret_key="aStaticSecretKey!")


@dash.callback(Output("live-out", "children"), Input("tick", "n_intervals"), websocket=True)
def stream(n):
    return f"update {n} for {current_user().display_name}"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=True)
