"""The seed README's OIDC example (one provider); only the import line changed.

Replace the placeholder values with your provider's, as the seed README says:
the provider's discovery document is read when the provider is registered
(see docs/migrating.md, "OIDC discovery at start-up").
"""

from dash import Dash

from dash_auth_oidc import OIDCAuth

app = Dash(__name__)

auth = OIDCAuth(app, secret_key="aStaticSecretKey!")
auth.register_provider(
    "idp",
    token_endpoint_auth_method="client_secret_post",
    # Replace the below values with your own
    # NOTE: Do not hardcode your client secret!
    client_id="<my-client-id>",
    client_secret="<my-client-secret>",
    server_metadata_url="<my-idp-.well-known-configuration>",
)
