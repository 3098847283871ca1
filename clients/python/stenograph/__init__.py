"""Stenograph: live meeting transcription (client distribution)."""
