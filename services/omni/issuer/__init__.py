"""The local token issuer: signs short-lived tokens for the platform's own callers (OAuth 2.0
client credentials) and publishes its public keys (JWKS). For the dev stack and the chart's dev
install; in production the company's identity provider plays this part."""
