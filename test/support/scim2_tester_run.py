"""Runs scim2-tester (the python-scim compliance checker) against a SCIM base URL.

Usage: scim2_tester_run.py <base-url> <bearer-token>
Prints one JSON object per check: {"title", "status", "reason", "description", "resource_type"}.
Exit status 0 whatever the results: the caller judges them (docs/scim.md lists accepted ones).
"""
import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    for r in check_server(client):
        print(
            json.dumps(
                {
                    "title": getattr(r, "title", None),
                    "status": r.status.name,
                    "reason": getattr(r, "reason", None),
                    "description": getattr(r, "description", None),
                    "resource_type": getattr(r, "resource_type", None),
                },
                default=str,
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
