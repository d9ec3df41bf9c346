"""Maintainer page."""

from ui.admin import render_page

render_page()
