"""The REST API v2 (Falcon): :func:`create_app` builds the WSGI application."""

from mistral_core.api.app import create_app

__all__ = ["create_app"]
