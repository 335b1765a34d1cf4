"""Reference inference service: deterministic fake predictions, GPU detection, in-flight gauge for the HPA."""
SERVICE_NAME = "ai-server"
