"""One of several processes adding runs to one store at once (tests/test_store.py).

    python tests/store_worker.py URL BARRIER_DIR WORKERS FILE...

Says it is ready (a file in BARRIER_DIR) and waits until all WORKERS are, so that every worker
opens the store (creating its tables if none are there) at the same moment, then adds the
files one by one and prints, per file, the run id and whether it was new, as JSON lines.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from subsidybench.results.store import Store, add_files


def main() -> None:
    url, barrier, workers, *files = sys.argv[1:]
    (Path(barrier) / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(Path(barrier).iterdir())) < int(workers):
        if time.monotonic() > deadline:
            sys.exit("the other workers never came")
        time.sleep(0.005)
    store = Store(url)  # after the wait: creating the tables races too
    for f in files:
        (added,) = add_files(store, [Path(f)])
        print(json.dumps({"file": f, "run": added.run_id, "new": added.new}), flush=True)
    store.close()


if __name__ == "__main__":
    main()
