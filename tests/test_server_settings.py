"""Settings from the environment: defaults, overrides, and refusals that name the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_serve_loopback_with_eventlet_and_a_connection_cap_above_its_own_default():
    s = Settings.from_env({})
    assert (s.host, s.port, s.async_mode) == ("127.0.0.1", 5000, "eventlet")
    assert s.max_connections > 1024
    assert len(s.secret_key) >= 32 and s.secret_key != Settings.from_env({}).secret_key


def test_environment_variables_override_the_defaults():
    s = Settings.from_env({"PORT": "8080", "ASYNC_MODE": "gevent", "SECRET_KEY": "k" * 20,
                           "ALLOWED_ORIGINS": "https://a.example, https://b.example/",
                           "CONTROL_RATE": "5.5", "MAX_CONNECTIONS": "9000"})
    assert s.port == 8080 and s.async_mode == "gevent" and s.secret_key == "k" * 20
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert s.control_rate == 5.5 and s.max_connections == 9000


@pytest.mark.parametrize(("env", "named"), [
    ({"PORT": "http"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"ASYNC_MODE": "asyncio"}, "ASYNC_MODE"),
    ({"CONTROL_RATE": "0"}, "CONTROL_RATE"),
    ({"MAX_RUN_TIME_MS": "nan"}, "MAX_RUN_TIME_MS"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"ALLOWED_ORIGINS": "example.org"}, "ALLOWED_ORIGINS"),
    ({"FRAME_RATE": "1000"}, "FRAME_RATE"),
])
def test_a_bad_value_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_entry_point_refuses_a_bad_setting_before_serving():
    result = subprocess.run([sys.executable, "app.py", "--port", "5000"], cwd=ROOT,
                            env={"ASYNC_MODE": "threading", "CONTROL_BURST": "many",
                                 "PATH": ""}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "CONTROL_BURST" in result.stderr
