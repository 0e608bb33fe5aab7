"""Python's cycle collector paused for the start-up of ``loganalyzer analyze``.

Importing numpy and our modules and judging the first input make ~50 young
collections (~12 ms of a ~200 ms one-log run) that find nothing to free. The command
line pauses the collector (:func:`pause`) and the analysis resumes it (:func:`resume`)
once the first input is judged and before worker processes are forked, so a long
sweep or a huge log runs with it as usual. The state lives here, not in
:mod:`loganalyzer.cli`: ``python -m loganalyzer.cli`` runs that file as ``__main__``,
a second copy of its globals.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Pause the collector, if it runs."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Resume the collector :func:`pause` paused, with what start-up allocated (the
    imported modules, the rule pack) moved out of its sight (``gc.freeze``); nothing
    when it was not paused."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
