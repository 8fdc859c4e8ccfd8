"""``torchrun`` for this machine's Debian torch 1.13 under Python 3.11: ``python3 -m model.torchrun …`` takes the
same arguments. torch 1.13's ``Std.from_str("0")`` (the default of ``--redirects`` and ``--tee``) looks the value
up by iterating an ``IntFlag``, which on Python 3.11 skips the zero member, so it returns None and the launcher
fails before starting a worker (``'NoneType' object has no attribute 'get'``). This maps that None back to
``Std.NONE`` and runs ``torch.distributed.run``. With a current PyTorch, use plain ``torchrun``.
"""

from __future__ import annotations

import sys


def patch() -> None:
    from torch.distributed.elastic.multiprocessing import api

    original = api.Std.from_str.__func__
    if getattr(api.Std, "_ctlens_patched", False):
        return

    def from_str(cls, vm):
        v = original(cls, vm)
        if isinstance(v, dict):
            return {k: (api.Std.NONE if s is None else s) for k, s in v.items()}
        return api.Std.NONE if v is None else v

    api.Std.from_str = classmethod(from_str)
    api.Std._ctlens_patched = True


def main() -> None:
    patch()
    from torch.distributed.run import main as run_main

    run_main(sys.argv[1:])


if __name__ == "__main__":
    main()
