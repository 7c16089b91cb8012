from dash import html, register_page

register_page(__name__, path_template="/user/<user_id>/private")


def layout(user_id: str):
    return [
        html.H1(f"User {user_id} (authenticated only)"),
        html.Div("Members-only information"),
    ]
