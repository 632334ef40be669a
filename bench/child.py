"""Entry point of a benchmark child process: `python -m bench.child MODULE:FUNCTION PARAMS_JSON RESULT_PATH`.

Runs the function with the params and writes its result, plus this process's peak RSS, as JSON.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path

from bench.common import peak_rss_mb


def main(argv: list[str]) -> int:
    target, params, result_path = argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(params))
    result.setdefault("peak_rss_mb", peak_rss_mb())
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
