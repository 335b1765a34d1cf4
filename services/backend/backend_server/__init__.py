"""Reference central coordinator: a small durable key/value state store under DATA_DIR."""
SERVICE_NAME = "backend"
