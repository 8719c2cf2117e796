"""What the estimators with a frozen encoder of their own share: the lazy encoder and settings files.

The frozen baseline and the Y02-definition scorer both name their encoder by constructor fields
(``model`` plus :attr:`FrozenEncoderMixin.encoder_fields`), build it on first use, and save those
fields, less the run-time ones, as a JSON settings file that ``from_pretrained`` turns back into
constructor arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from patentlab.errors import PatentlabError

if TYPE_CHECKING:
    from patentlab.embed.encoder import Encoder


class FrozenEncoderMixin:
    """For scikit-learn estimators that embed text with a frozen :class:`~patentlab.embed.encoder.Encoder`.

    The subclass has a ``model`` field and the fields in :attr:`encoder_fields`, which are passed to
    the encoder under the same names. ``load_encoder`` keeps the encoder in ``encoder_``.
    """

    #: Constructor fields passed on to the encoder.
    encoder_fields: ClassVar[tuple[str, ...]] = ("max_length", "batch_size", "cache")
    #: Constructor fields that change no prediction (whether vectors are cached): never saved.
    runtime_fields: ClassVar[tuple[str, ...]] = ("cache",)

    def check_settings(self) -> None:
        """Raise :class:`PatentlabError` for a setting the encoder cannot run with (a hook)."""

    def load_encoder(self) -> Encoder:
        """The frozen encoder, loaded on first use and kept (``encoder_``)."""
        if getattr(self, "encoder_", None) is None:
            from patentlab.embed.encoder import Encoder

            self.check_settings()
            options = {name: getattr(self, name) for name in self.encoder_fields}
            self.encoder_ = Encoder(self.model, **options)
        return self.encoder_

    def prepare_encoder(self, *, batch_size: int | None = None, cache: bool | None = None) -> None:
        """Load the encoder now, with these run-time settings (``None`` keeps the current one)."""
        changes = {k: v for k, v in (("batch_size", batch_size), ("cache", cache)) if v is not None}
        if changes:
            self.set_params(**changes)
            self.encoder_ = None  # rebuilt with the new settings
        self.load_encoder()

    def saved_params(self) -> dict[str, Any]:
        """The constructor fields a settings file keeps."""
        return {k: v for k, v in self.get_params().items() if k not in self.runtime_fields}

    @staticmethod
    def read_params(path: str | Path, filename: str, kind: str) -> dict[str, Any]:
        """The saved constructor fields (and any extra state) of ``path/filename``, without ``format``."""
        path = Path(path)
        if not (path / filename).exists():
            raise PatentlabError(f"not a {kind} folder (no {filename})", path=path)
        params = json.loads((path / filename).read_text(encoding="utf-8"))
        params.pop("format", None)
        return params
