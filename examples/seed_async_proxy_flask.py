"""dash-auth-async's README, "Running behind a reverse proxy" on Flask; only the import line changed.

The README shows two lines against an app of yours: the lines marked
``added`` give them one (OIDC, whose redirect URI needs the public host and
scheme). ``force_https_callback=True`` is the README's scheme switch; the
proxy-fix restores the host (and here the scheme) from the one proxy in front.
"""

import os  # added

from dash import Dash, html  # added
from werkzeug.middleware.proxy_fix import ProxyFix

from dash_auth_oidc import OIDCAuth  # added

app = Dash(__name__)  # added
app.layout = html.Div("Behind a proxy")  # added
auth = OIDCAuth(app, secret_key="aStaticSecretKey!", force_https_callback=True)  # added
auth.register_provider("idp", client_id=os.environ["OIDC_CLIENT_ID"],  # added
                       client_secret=os.environ["OIDC_CLIENT_SECRET"],  # added
                       server_metadata_url=os.environ["OIDC_METADATA_URL"])  # added

# Counts MUST equal your real proxy-chain length — setting them higher than the
# actual chain (or enabling this with no proxy) re-opens the spoofing hole.
app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=1, x_proto=1, x_host=1)
