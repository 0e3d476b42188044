"""The two encoders a ``ReportQA`` uses, loaded on first use (or handed in, as tests do)."""

from __future__ import annotations

from .config import Settings
from .encoder import Encoder, load_aux_encoder, load_encoder


class Models:
    """e5 (or the model named in the settings) and the second encoder, each loaded when first asked for.

    The loaders are cached per process, so every ``ReportQA`` of a process shares the weights.
    """

    def __init__(self, settings: Settings, encoder: Encoder | None = None, aux_encoder: Encoder | None = None):
        self.settings = settings
        self._encoder = encoder
        self._aux_encoder = aux_encoder
        self.aux_given = aux_encoder is not None  # an encoder object cannot be loaded in a worker process

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = load_encoder(self.settings.model, self.cache, self.settings.encoder_backend)
        return self._encoder

    @property
    def aux_encoder(self) -> Encoder | None:
        if self._aux_encoder is None:
            self._aux_encoder = load_aux_encoder(self.settings.second_encoder, self.cache)
        return self._aux_encoder

    @property
    def encoder_device(self) -> str:
        """Where e5 embeds passages: "cuda" or "cpu" (loads e5)."""
        return getattr(self.encoder, "passage_device", "cpu")

    @property
    def encoder_loaded(self) -> bool:
        return self._encoder is not None

    @property
    def cache(self) -> str | None:
        """The model cache as the cached loaders key it (a string, or None for the default)."""
        return str(self.settings.cache_dir) if self.settings.cache_dir else None

    @property
    def model_name(self) -> str:
        return self._encoder.name if self._encoder is not None else self.settings.model

    @property
    def aux_model_name(self) -> str:
        if self._aux_encoder is not None:
            return self._aux_encoder.name
        return "" if self.settings.second_encoder in ("", "none") else self.settings.second_encoder
