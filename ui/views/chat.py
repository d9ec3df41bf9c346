"""Chat page."""

from ui.chat import render_page

render_page()
