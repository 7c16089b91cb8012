"""The seed README's public-routes example; only the import line changed."""

from dash import Dash

from dash_auth_basic import BasicAuth, add_public_routes

app = Dash(__name__)
USER_PWD = {
    "username": "password",
    "user2": "useSomethingMoreSecurePlease",
}
BasicAuth(app, USER_PWD, public_routes=["/"])

add_public_routes(app, public_routes=["/user/<user_id>/public"])

if __name__ == "__main__":
    app.run(debug=True)
