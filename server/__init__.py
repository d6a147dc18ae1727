"""The live server: Flask and Socket.IO around the simulator, one paced session per tab.

``create_app`` builds the app; ``app.py`` at the top of the project serves it.
"""

from .factory import create_app
from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]
