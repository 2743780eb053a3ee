"""``python -m scales_core.train``: run :func:`scales_core.train.loop.main`."""

from .loop import main

if __name__ == "__main__":
    main()
