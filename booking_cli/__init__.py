"""The ``booking`` console script."""
