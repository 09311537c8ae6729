"""HW3's models (``models.rnn_classifier``, ``models.char_predictor``) on the handout engine."""
from .char_predictor import CharacterPredictor, inference
from .rnn_classifier import RNNPhonemeClassifier

__all__ = ["RNNPhonemeClassifier", "CharacterPredictor", "inference"]
