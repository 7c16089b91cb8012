"""The seed README's "Basic ClerkAuth Setup" example; only the import line changed.

Set CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY (see packages/clerk/README.md), then
``python examples/seed_clerk_basic.py``. As in the seed, the two user pages use
``path_template="/user/{user_id}/..."``; Dash's syntax is ``<user_id>``, so Dash serves them
at the literal paths (write ``<user_id>`` in your own app).
"""
import os
from dash import Dash, html, dcc, page_container
from dash_auth_clerk import ClerkAuth, public_callback
from dash import Input, Output, register_page

app = Dash(__name__, use_pages=True, pages_folder='', suppress_callback_exceptions=True)

# Initialize ClerkAuth — reads CLERK_* env vars automatically
auth = ClerkAuth(
    app,
    secret_key="aStaticSecretKey!",  # protect Flask session cookies
    log_signins=True,
    auth_protect_layouts=True,       # protect page layouts, not just routes
    page_container='_pages_content', # id of your page_container element
    public_routes=['/', '/user/<user_id>/public'],
)

# Main layout with navigation
app.layout = html.Div(
    [
        html.Div(
            [
                dcc.Link("Home", href="/"),
                dcc.Link("John Doe", href="/user/john_doe/public"),
                dcc.Link('Logout', href='/logout', refresh=True),
            ],
            style={"display": "flex", "gap": "1rem", "background": "lightgray", "padding": "0.5rem 1rem"},
        ),
        page_container,
    ],
    style={"display": "flex", "flexDirection": "column"},
)

# Home page (public)
home_layout = [
    html.H1("Home Page"),
    html.Button("Click me", id="home-button"),
    html.Div(id="home-contents"),
]
register_page('home', "/", layout=home_layout)

@public_callback(
    Output("home-contents", "children"),
    Input("home-button", "n_clicks"),
)
def home(n_clicks):
    if not n_clicks:
        return "You haven't clicked the button."
    return f"You clicked the button {n_clicks} times"

# Public user page
def user_layout(user_id: str, **kwargs):
    return [
        html.H1(f"User {user_id} (public)"),
        dcc.Link("Authenticated user content", href=f"/user/{user_id}/private"),
    ]
register_page('user', path_template="/user/{user_id}/public", layout=user_layout)

# Private user page (protected)
def user_private(user_id: str, **kwargs):
    return [
        html.H1(f"User {user_id} (authenticated only)"),
        html.Div("Members-only information"),
    ]
register_page('private', path_template="/user/{user_id}/private", layout=user_private)

if __name__ == "__main__":
    app.run(debug=True)
