"""The seed README's first BasicAuth example; only the import line changed."""

from dash import Dash

from dash_auth_basic import BasicAuth

app = Dash(__name__)
USER_PWD = {
    "username": "password",
    "user2": "useSomethingMoreSecurePlease",
}
BasicAuth(app, USER_PWD)

if __name__ == "__main__":
    app.run(debug=True)
