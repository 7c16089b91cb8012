"""dash-auth-async's README: user groups for BasicAuth users; only the import lines changed.

As in the dash-auth-plus version (``seed_user_groups.py``), the secret key
line marked ``# seed:`` is one other change (at least 16 characters), and the
table and the function, two alternatives, each get an app (lines marked ``added``).
"""

from dash import Dash

from dash_auth_basic import BasicAuth

app = Dash(__name__)
USER_PWD = {
    "username": "password",
    "user2": "useSomethingMoreSecurePlease",
}
BasicAuth(
    app,
    USER_PWD,
    user_groups={"username": ["group1", "group2"], "user2": ["group2"]},
    secret_key="Test!-at-least-16-characters",  # seed: secret_key="Test!",
)

app_with_table = app  # added: the README's two ways are alternatives, each on an app of its own
app = Dash(__name__)  # added (one app takes one user_groups per front door: docs/migrating.md)

# You can also use a function to get user groups
def check_user(username, password):
    if username == "user1" and password == "password":
        return True
    if username == "user2" and password == "useSomethingMoreSecurePlease":
        return True
    return False

def get_user_groups(user):
    if user == "user1":
        return ["group1", "group2"]
    elif user == "user2":
        return ["group2"]
    return []

BasicAuth(
    app,
    auth_func=check_user,
    user_groups=get_user_groups,
    secret_key="Test!-at-least-16-characters",  # seed: secret_key="Test!",
)
