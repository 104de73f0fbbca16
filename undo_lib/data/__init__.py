"""Data for the two settings: token streams, the mixtures drawn from them, and held-out evaluation sets."""
from .mixture import Mixture, TokenStream
from .tokenizer import char_tokenizer, embedded_tokenizer, hub_tokenizer

__all__ = ["Mixture", "TokenStream", "char_tokenizer", "embedded_tokenizer", "hub_tokenizer"]
