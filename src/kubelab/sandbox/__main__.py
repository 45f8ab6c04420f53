"""``python -m kubelab.sandbox``: the same commands as ``kubelab sandbox``."""

from kubelab.sandbox.cli import main

raise SystemExit(main())
