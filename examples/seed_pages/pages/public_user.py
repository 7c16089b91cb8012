from dash import dcc, html, register_page

register_page(__name__, path_template="/user/<user_id>/public")


def layout(user_id: str):
    return [
        html.H1(f"User {user_id} (public)"),
        dcc.Link("Authenticated user content", href=f"/user/{user_id}/private"),
    ]
