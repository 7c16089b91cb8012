"""dash-auth-async's README, "Running behind a reverse proxy" on Quart (hypercorn); only the import line changed.

The lines marked ``added`` give the README's one line an app (see
``seed_async_proxy_flask.py``).
"""

import os  # added

from dash import Dash, html  # added
from hypercorn.middleware import ProxyFixMiddleware

from dash_auth_oidc import OIDCAuth  # added

app = Dash(__name__, backend="quart")  # added
app.layout = html.Div("Behind a proxy")  # added
auth = OIDCAuth(app, secret_key="aStaticSecretKey!", force_https_callback=True)  # added
auth.register_provider("idp", client_id=os.environ["OIDC_CLIENT_ID"],  # added
                       client_secret=os.environ["OIDC_CLIENT_SECRET"],  # added
                       server_metadata_url=os.environ["OIDC_METADATA_URL"])  # added

# trusted_hops MUST equal your real proxy-chain length (see warning below).
app.server.asgi_app = ProxyFixMiddleware(app.server.asgi_app, mode="modern", trusted_hops=1)
