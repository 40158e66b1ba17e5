"""QR codes for an authenticator app to scan (two-factor enrollment), drawn with ``segno``.

Crisp on every screen: each module (the code's square) is a whole number of device pixels, the image is
made at the screen's device pixel ratio and shown at its logical size, so nothing is scaled (a scaled QR
code blurs, and blurred edges are what phone cameras read worst). Dark modules on white with the quiet
zone the standard asks for (4 modules), whatever the theme: scanners expect dark on light.

``png`` is plain Python (no Qt), so it may run on the worker with the enrollment; ``pixmap`` turns its bytes
into a ``QPixmap`` on the GUI thread.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PySide6.QtGui import QPixmap

QUIET_ZONE: Final = 4  # modules of white around the code (ISO/IEC 18004)
TARGET_SIZE: Final = 220  # logical pixels the code (with its quiet zone) is about as wide as
MIN_MODULE: Final = 3  # device pixels per module at least, however small the target


def module_pixels(modules: int, device_pixel_ratio: float, target: int = TARGET_SIZE) -> int:
    """Device pixels per module: a whole number, so that every module's edges fall on pixels."""
    return max(MIN_MODULE, round(target * device_pixel_ratio / modules))


def png(text: str, device_pixel_ratio: float = 1.0, target: int = TARGET_SIZE) -> bytes:
    """A PNG of ``text`` as a QR code (error correction M, byte mode as needed), quiet zone included."""
    import segno

    code = segno.make(text, error="m", micro=False, boost_error=False)
    width, _height = code.symbol_size(scale=1, border=QUIET_ZONE)  # modules, quiet zone included
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="png",
        scale=module_pixels(int(width), device_pixel_ratio, target),
        border=QUIET_ZONE,
        dark="#000000",
        light="#ffffff",
    )
    return buffer.getvalue()


def pixmap(data: bytes, device_pixel_ratio: float) -> QPixmap:
    """The PNG from ``png`` as a pixmap shown at its logical size (its pixels one to one on the screen)."""
    from PySide6.QtGui import QImage, QPixmap

    image = QImage.fromData(data)  # a PNG: Qt reads the format from its signature
    if image.isNull():
        raise ValueError("The QR code could not be drawn.")
    picture = QPixmap.fromImage(image)
    picture.setDevicePixelRatio(device_pixel_ratio)
    return picture
