"""The seed README's smaller ClerkAuth snippets, each on an app of its own; only the import
lines changed. The snippets leave out the app and the look-ups they call; the lines marked
"added" supply them.
"""
import logging

from dash import Dash, html
from dash_auth_clerk import ClerkAuth


def fetch_groups_from_db(email):  # added: the seed's placeholder look-up
    return {"alice@example.org": ["analyst"]}.get(email, [])


def fetch_role_from_db(user_id):  # added: the seed's placeholder look-up
    return "member"


def layouts_app():  # added
    app = Dash(__name__)
    app.layout = html.Div("x")
    # -- the seed's auth_protect_layouts snippet --
    auth = ClerkAuth(
        app,
        secret_key="aStaticSecretKey!",
        auth_protect_layouts=True,
        # Customise what unauthenticated users see in place of private page content
        auth_protect_layouts_kwargs=dict(
            missing_permissions_output=html.Div("Please log in to view this page.")
        ),
        page_container='_pages_content',  # id of the page_container element
        public_routes=['/'],
    )
    return app


def groups_dict_app():  # added
    app = Dash(__name__)
    app.layout = html.Div("x")
    # Static group mapping by email
    auth = ClerkAuth(
        app,
        secret_key="aStaticSecretKey!",
        user_groups={
            "alice@example.com": ["admin", "editor"],
            "bob@example.com": ["viewer"],
        },
    )
    return app


def groups_callable_app():  # added
    app = Dash(__name__)
    app.layout = html.Div("x")

    # Dynamic group lookup function
    def get_groups(email: str):
        # look up groups from your database
        return fetch_groups_from_db(email)

    auth = ClerkAuth(
        app,
        secret_key="aStaticSecretKey!",
        user_groups=get_groups,
    )
    return app


def login_callback_app():  # added
    app = Dash(__name__)
    app.layout = html.Div("x")
    from flask import session, redirect

    def my_post_login(user, idp):
        """
        user : Clerk user object
        idp  : always 'clerk' for ClerkAuth
        """
        session["user"] = {
            "email": user.email_addresses[0].email_address,
            "name": f"{user.first_name} {user.last_name}",
            "role": fetch_role_from_db(user.id),
        }
        return redirect("/dashboard")

    auth = ClerkAuth(
        app,
        secret_key="aStaticSecretKey!",
        login_user_callback=my_post_login,
    )
    return app


def logout_app():  # added
    app = Dash(__name__)
    app.layout = html.Div("x")
    from flask import session
    import logging

    def on_logout():
        email = session.get("user", {}).get("email")
        logging.info("User %s is logging out.", email)

    auth = ClerkAuth(
        app,
        secret_key="aStaticSecretKey!",
        before_logout=on_logout,
        # Optionally replace the default "Logged out" page with custom HTML:
        logout_page="<h1>You've been signed out. <a href='/'>Go home</a></h1>",
    )
    return app
