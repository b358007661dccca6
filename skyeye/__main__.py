"""``python -m skyeye`` is the ``skyeye`` command."""

from skyeye.cli import app

app()
