"""The live server: Flask and Socket.IO around the simulator, one paced session per tab.

``create_app`` builds the app; ``app.py`` at the top of the project serves it. Names are loaded
when first used, so a replay worker (``server.replays``) imports the simulator, not Flask.
"""

from __future__ import annotations

__all__ = ["Settings", "SettingsError", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .factory import create_app

        return create_app
    if name in ("Settings", "SettingsError"):
        from . import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
