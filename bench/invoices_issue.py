"""Issues one statement per (supplier, canteen) pair read from standard input
(`supplier_id buyer_id` per line) through the API, as the platform under
each supplier's billing mandate, with CLIENTS threads; prints
`statements seconds lines`. Usage: python3 invoices_issue.py URL TOKEN FROM TO CLIENTS"""
import json
import queue
import sys
import threading
import time
import urllib.request

url, token, start, end, clients = sys.argv[1:6]
pairs = queue.Queue()
for line in sys.stdin:
    if line.strip():
        pairs.put(line.split())
issued, lines, failures = [], [], []


def work():
    while True:
        try:
            supplier, buyer = pairs.get_nowait()
        except queue.Empty:
            return
        body = json.dumps({"statement": {"buyer_id": buyer, "from": start, "to": end}}).encode()
        request = urllib.request.Request(
            f"{url}/api/v1/organisations/{supplier}/invoices", body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                invoice = json.load(response)
                issued.append(invoice["number"])
                lines.append(len(invoice["lines"]))
        except urllib.error.HTTPError as error:
            failures.append(f"{supplier} {buyer}: {error.code} {error.read()[:300]!r}")


t0 = time.monotonic()
threads = [threading.Thread(target=work) for _ in range(int(clients))]
for t in threads:
    t.start()
for t in threads:
    t.join()
seconds = time.monotonic() - t0
for failure in failures[:5]:
    print(failure, file=sys.stderr)
if failures:
    sys.exit(f"{len(failures)} statements refused")
print(len(issued), f"{seconds:.2f}", sum(lines))
