"""The local web app (``truefans serve``): pages, the JSON API under ``/api/v1/`` and upload."""

from __future__ import annotations

from .app import create_app, serve

__all__ = ["create_app", "serve"]
