"""The seed README's "Restricting layouts" example; only the import lines changed.

The README shows the ``BasicAuth`` call alone; the lines marked ``added`` give
it a Dash Pages app with a public home page and a private page.
"""

import dash  # added
from dash import Dash, html, page_container  # was: from dash import html

from dash_auth_basic import BasicAuth

app = Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)  # added
USER_PWD = {"username": "password"}  # added
dash.register_page("home", path="/", layout=html.Div("Public home"))  # added
dash.register_page("private", path="/private", layout=html.Div("Private numbers"))  # added
app.layout = html.Div([page_container])  # added

BasicAuth(
    app,
    USER_PWD,
    public_routes=['/'],
    auth_protect_layouts=True,
    auth_protect_layouts_kwargs=dict(missing_permissions_output=html.Div('You do not have access to this page.')),
    page_container='_pages_content',
)
