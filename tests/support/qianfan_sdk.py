"""Run the official ``qianfan`` SDK as a user would, in a process of its own:

    QIANFAN_CONSOLE_API_BASE_URL=… QIANFAN_ACCESS_KEY=… QIANFAN_SECRET_KEY=… \\
        python -m tests.support.qianfan_sdk '[["DescribeEvalTask", {"taskId": "…"}], …]'

Each call goes through ``qianfan.resources.console.utils.call_action("/v2/eval", action,
body)`` — the way Qianfan's own documentation calls these actions — and prints one JSON line:
``{"ok": true, "body": …}`` or ``{"ok": false, "status": <HTTP status>, "error": "…"}``.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    from qianfan import resources
    from qianfan.errors import RequestError

    for action, body in json.loads(sys.argv[1]):
        try:
            response = resources.console.utils.call_action("/v2/eval", action, body)
        except RequestError as exc:
            status = getattr(exc, "status_code", None)
            print(json.dumps({"ok": False, "status": status, "error": str(exc)}), flush=True)
            continue
        print(json.dumps({"ok": True, "body": response.body}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
