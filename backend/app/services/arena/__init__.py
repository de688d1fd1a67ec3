"""Blind arena: pairwise votes between models and the ratings computed from them."""
