"""The seed README's custom login page (pages/login.py), as written there."""
from dash import html, register_page, dcc

register_page(__name__, path="/login", title="Sign In")

layout = html.Div(
    [
        html.Div(
            [
                html.H2("Sign in", style={"marginBottom": "1rem"}),
                # The <clerk-sign-in> web component is injected by Clerk's JS SDK.
                # It renders Clerk's sign-in UI inline — no redirect to Clerk's hosted page.
                html.Div(id="clerk-sign-in-container"),
                dcc.Interval(id="_clerk_mount_interval", interval=300, max_intervals=20),
            ],
            style={
                "display": "flex",
                "flexDirection": "column",
                "alignItems": "center",
                "justifyContent": "center",
                "minHeight": "60vh",
            },
        )
    ]
)
