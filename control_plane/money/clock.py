"""The money scripts' clock: Redis server time, or a platform's test clock.

With the `test_clock` setting on, every money script of a platform reads the
time from the key `test_clock` of that platform (Unix ms) when it is set, and
the server time otherwise. Tests move it to cross minutes, days and months on
both planes at once. Production never turns the setting on.
"""

from __future__ import annotations

from control_plane.settings import Settings


def clock_flag(settings: Settings) -> str:
    """The scripts' argument that turns the test clock on."""
    return "1" if settings.test_clock else "0"
