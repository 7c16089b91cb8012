"""The seed README's user-groups example for BasicAuth; only the import lines changed.

The one other change is marked ``# seed:``: a secret key must have at least
16 characters here (the seed's ``"Test!"`` is refused at start-up; see
docs/migrating.md). The README shows two ways to give groups (a table, a function) on one ``app``:
they are alternatives, and the lines marked ``added`` give the second an app
of its own (one app takes one ``user_groups`` per front door).
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
  user_groups={"user1": ["group1", "group2"], "user2": ["group2"]},
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
