"""The extractive composer's parts, one idea each.

- ``terms``: a question part's topic terms, weighted by rarity, and how much of them a text covers;
- ``cutting``: the candidate windows (runs of whole clauses) of a retrieved unit's sentence;
- ``qualifiers`` and ``checks``: what a window says about the asked part (the figure's metric,
  the year, the answer's form, the distinguishing qualifier);
- ``hand``: the hand-set window score and support gate, with their named weights;
- ``learned``: the facts the learned window scorer (``rag.answer.window_scorer``) weighs.

``rag.answer.composers.extractive`` puts them together into the composer.
"""
