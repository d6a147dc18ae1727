"""``python -m bench``: run the simulator benchmark (bench/sim_throughput.py)."""

from .sim_throughput import main

raise SystemExit(main())
