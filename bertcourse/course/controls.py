"""One look and one keyboard behaviour for every course control: the quiz, the exercise result,
the course-progress widget and the attention explorer.

`mark(box)` tags a widget box as course controls and puts an invisible `CourseControls`
anywidget inside it, which loads `controls.css` and `controls.js`:
- one strong focus ring (3 px, 2 px away from the control, so it never touches the control's
  own colour) on every button, input, menu and slider handle, in a colour chosen per theme to
  stand at least 3:1 against both the page and the control (the browser test measures it), and
  boxes that do not clip it at their edges;
- labels that wrap instead of being cut off with "…" or printed over the next line;
- keyboard focus that stays on the controls when the kernel disables or hides the one that had
  it (after Check, Try again, the last hint or "Yes, show it"), instead of falling to the page.
- JupyterLab's own keyboard shortcuts switched off inside the box, so Enter presses the focused
  button rather than editing the cell.
Each widget loads the files itself because any of them may be the first (or only) course control
a notebook shows.

Room: course (`bertcourse.course`).
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import ipywidgets as widgets

CLASS = "bertcourse-controls"
_HERE = Path(__file__).parent


class CourseControls(anywidget.AnyWidget):
    """Invisible: carries the course's control styles and focus keeping (see the module doc)."""

    _esm = _HERE / "controls.js"
    _css = _HERE / "controls.css"


def mark(box: widgets.Box) -> None:
    """Make `box` course controls: the class the styles hook on, and the helper that loads them."""
    box.add_class(CLASS)
    box.children = (*box.children, CourseControls())
