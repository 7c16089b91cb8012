"""dash-auth-async's README: BasicAuth on Dash's Quart backend; only the import line changed.

Without a ``secret_key`` the stack generates one per process, with a
warning: Basic logins still work, sessions do not survive a restart.
"""

from dash import Dash

from dash_auth_basic import BasicAuth

app = Dash(__name__, backend="quart")

BasicAuth(app, {"admin": "admin", "viewer": "viewer123"})

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=True)
