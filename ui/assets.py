"""The page's CSS and JavaScript, kept as files in ``ui/static/`` (package data, so an installed
package has them) rather than as strings in Python.

Nothing is fetched by the browser: Gradio reads the stylesheet (``css_paths``) into the page's own
config, and each component's script is code handed to ``js_on_load``, so the page works offline
and a new version arrives with the page itself (no URL to cache-bust). They are read once at import,
so a missing file stops the server at start rather than at a visitor's first click."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).with_name("static")
#: the whole page's stylesheet, given to ``gr.mount_gradio_app(css_paths=...)``
STYLESHEET = STATIC / "page.css"


def script(name: str) -> str:
    """The code of ``static/<name>.js``, for a component's ``js_on_load``."""
    return (STATIC / f"{name}.js").read_text(encoding="utf-8")
