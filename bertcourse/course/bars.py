"""Progress bars for long work that a saved notebook shows finished.

In a notebook, tqdm draws a widget, and the output saved with the notebook keeps the text of its
*first* state ("0%| | 0/1500") however far it got. `progress_bar` republishes its output when it
closes: the final state for a bar that stays (`leave=True`), nothing for one that goes. Every
lesson's long loop uses it, so no committed notebook contradicts itself.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

from typing import Any


NOTEBOOK_MININTERVAL = 1.0  # seconds between a notebook bar's redraws


def progress_bar(iterable: Any = None, **options: Any) -> Any:
    """tqdm's bar over `iterable` (`options` are tqdm's), whose saved notebook output is its end state.

    In a notebook it redraws at most once a second (`NOTEBOOK_MININTERVAL`, unless `mininterval` is
    given): each redraw is a widget message, and at tqdm's default of ten a second a cell that trains
    for minutes on a slow CPU queues thousands of them; past ZMQ's high-water mark the kernel drops
    messages, its final "idle" among them, and nbval then fails the cell with "Timeout of 5 seconds
    exceeded waiting for output" (seen on notebook 09 with the slowest float kernels).
    """
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm as notebook_tqdm

    if not issubclass(tqdm, notebook_tqdm) or options.get("disable"):  # a terminal, or no bar
        return tqdm(iterable, **options)
    options.setdefault("mininterval", NOTEBOOK_MININTERVAL)

    from IPython.display import display

    class FinalStateBar(tqdm):
        def __init__(self, iterable: Any = None, **kwargs: Any) -> None:
            super().__init__(iterable, display=False, **kwargs)
            self.handle = display(self.container, display_id=True)
            self.displayed = True

        def close(self) -> None:
            super().close()
            if self.handle is not None:  # republish: the saved text/plain is made from the final state
                if self.leave:
                    self.handle.update(self.container)
                else:
                    self.handle.update({"text/plain": ""}, raw=True)
                self.handle = None

    return FinalStateBar(iterable, **options)
