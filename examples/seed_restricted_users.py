"""The seed README's restricted-users example; only the import lines changed.

The README shows the callback alone; the lines above it (marked ``added``)
give it an app, a user whose ``session["user"]["email"]`` is ``me@email.com``
and one who is not restricted.
"""

from dash import Dash, Input, Output, html  # added

from dash_auth_basic import BasicAuth  # added
from dash_auth_groups import protected_callback

app = Dash(__name__)  # added
app.layout = html.Div([html.Button("test", id="test")])  # added
BasicAuth(app, {"me@email.com": "my-password", "you@email.com": "your-password"},  # added
          secret_key="a-static-secret-key-of-32-chars!")  # added

"""
where session['user'] = {'email': 'me@email.com'}
the below callback will not work
"""

@protected_callback(
    Output('test', 'children'),
    Input('test', 'n_clicks'),
    prevent_initial_call=True,
    restricted_users=['me@email.com']
)
def testing(n):
    return 'I was clicked'
