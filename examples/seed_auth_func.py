"""The seed README's ``auth_func`` example; only the import line changed."""

from dash import Dash

from dash_auth_basic import BasicAuth


def authorization_function(username, password):
    if (username == "hello") and (password == "world"):
        return True
    else:
        return False


app = Dash(__name__)
BasicAuth(app, auth_func=authorization_function)

if __name__ == "__main__":
    app.run(debug=True)
