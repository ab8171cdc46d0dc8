"""Progress bars for long work that a saved notebook shows finished.

In a notebook, tqdm draws a widget, and the output saved with the notebook keeps the text of its
*first* state ("0%| | 0/1500") however far it got. `progress_bar` republishes its output when it
closes: the final state for a bar that stays (`leave=True`), nothing for one that goes. Every
lesson's long loop uses it, so no committed notebook contradicts itself.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

from typing import Any


def progress_bar(iterable: Any = None, **options: Any) -> Any:
    """tqdm's bar over `iterable` (`options` are tqdm's), whose saved notebook output is its end state."""
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm as notebook_tqdm

    if not issubclass(tqdm, notebook_tqdm) or options.get("disable"):  # a terminal, or no bar
        return tqdm(iterable, **options)

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
