"""Transports and process wiring: gRPC and WebSocket front doors, Kafka publishing, the CLI."""
