"""The seed README's embedded sign-in app (Step 1: app.py); only the import line changed.

Here the user reaches the sign-in by the "Sign in" link; ``app_redirect.py`` sends every
unauthenticated page request to /login (Step 2).
"""
from dash import Dash, html, dcc, page_container, clientside_callback, Input, Output, State
from dash_auth_clerk import ClerkAuth, public_callback

app = Dash(__name__, use_pages=True, suppress_callback_exceptions=True)

auth = ClerkAuth(
    app,
    secret_key="aStaticSecretKey!",
    auth_protect_layouts=True,
    page_container='_pages_content',
    public_routes=['/login', '/'],  # /login must be public
)

app.layout = html.Div(
    [
        html.Div(
            [
                dcc.Link("Home", href="/"),
                dcc.Link("Sign in", href="/login"),
                dcc.Link("Logout", href="/logout", refresh=True),
            ],
            style={"display": "flex", "gap": "1rem", "padding": "0.5rem 1rem", "background": "lightgray"},
        ),
        page_container,
    ],
    style={"display": "flex", "flexDirection": "column"},
)

# Mount the Clerk <clerk-sign-in> web component once Clerk JS is ready
clientside_callback(
    """
    function(n) {
        if (typeof window.Clerk === 'undefined') return window.dash_clientside.no_update;
        var container = document.getElementById('clerk-sign-in-container');
        if (!container) return window.dash_clientside.no_update;
        // Only mount once
        if (container.querySelector('.cl-rootBox')) return window.dash_clientside.no_update;
        window.Clerk.mountSignIn(container);
        return window.dash_clientside.no_update;
    }
    """,
    Output("clerk-sign-in-container", "children"),
    Input("_clerk_mount_interval", "n_intervals"),
    prevent_initial_call=True,
)

if __name__ == "__main__":
    app.run(debug=True)
