"""Reference stateless REST API: an in-memory item store behind /v1/items."""
SERVICE_NAME = "api-server"
