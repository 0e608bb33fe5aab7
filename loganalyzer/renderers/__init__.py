"""Renderers: turn an :class:`~loganalyzer.analysis.Analysis` into something to read.

- :mod:`~loganalyzer.renderers.html`: one self-contained HTML file (plots inlined,
  strict Content-Security-Policy), and the fragment Jupyter shows.
- :mod:`~loganalyzer.renderers.markdown`: GitHub/GitLab Markdown with PNG plots beside it.
- :mod:`~loganalyzer.renderers.plots`: the matplotlib figures both use.
- :mod:`~loganalyzer.renderers.json_text`: ``--format json``, the indented JSON text.
- :mod:`~loganalyzer.renderers.view`: what a report says about a run (verdict, marks),
  read from findings, advice and the run; nothing is computed there.

Renderers compute nothing: every position they draw (onset, spikes, plateaus, where
EarlyStopping would stop) comes from a finding, an advice or the run itself. Nothing in
this package is imported on the ``analyze`` path; matplotlib is imported only when a
figure is drawn.
"""
