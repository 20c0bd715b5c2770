"""Terminal apps (Textual): the run viewer (`oversight view`) and the widgets a human judge uses.

Above the store and the judges: these read runs through the store's public API and never write a run.
"""

from oversight.tui.base import OversightApp
from oversight.tui.viewer import ViewerApp

__all__ = ["OversightApp", "ViewerApp"]
