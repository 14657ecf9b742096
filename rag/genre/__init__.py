"""How government work reports are written: the only package that knows the genre.

``text`` holds the forms (punctuation, numerals, figures, tokens), ``lexicon`` the vocabulary
read from ``rag/data``."""
