"""Checks of scripts/e2e/scatter-gather.sh against a running root and its leaves.

complete ROOT ORACLE QUERY K
    The root's answer is complete (every leaf answered, not partial) and its hits are
    exactly the oracle leaf's (one leaf holding the whole corpus) for the same query, cut
    to K (K = 0: all of them, the union).
partial ROOT QUERY K DEADLINE_MS SLOW_LEAF LEAF_URL...
    The root's answer arrives by the deadline (plus 250 ms of slack for the merge and the
    loopback), is partial with SLOW_LEAF timed out, and its hits are exactly the top-K
    merge, computed here, of the other leaves' own answers.
refused ROOT QUERY DEADLINE_MS SLOW_LEAF LEAF_TIMEOUT_MS
    A root with ALLOW_PARTIAL=false answers 503 `leaves_missing` with no hits by the
    deadline, naming the slow leaf; asked again, the slow leaf's circuit breaker opens
    after its repeated time-outs, and from then on the 503 comes at once (well within
    one per-leaf timeout), the leaf listed as failed with the open breaker as reason.
"""

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def search(root, query):
    return get(f"{root}/v1/search?q={urllib.parse.quote(query)}")


def leaf_hits(leaf, query, limit=None):
    url = f"{leaf}/v1/leaf/search?q={urllib.parse.quote(query)}"
    if limit:
        url += f"&limit={limit}"
    status, body = get(url)
    assert status == 200, (url, status, body)
    return body["hits"]


def ranked(hits):
    return sorted(hits, key=lambda hit: (-hit["score"], hit["id"]))


def complete(root, oracle, query, k):
    k = int(k)
    status, body = search(root, query)
    assert status == 200, (status, body)
    assert body["partial"] is False, body
    assert body["leaves"]["answered"] == [0, 1, 2], body["leaves"]
    expected = leaf_hits(oracle, query)
    if k:
        expected = expected[:k]
    assert expected, f"the oracle finds nothing for {query!r}: a useless check"
    assert body["hits"] == expected, (body["hits"], expected)
    print(f"complete {body['merge']} {query!r}: {len(expected)} hits equal the whole index's, "
          f"{body['elapsedMs']} ms")


def partial(root, query, k, deadline_ms, slow, *leaves):
    k, deadline_ms, slow = int(k), int(deadline_ms), int(slow)
    started = time.monotonic()
    status, body = search(root, query)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert status == 200, (status, body)
    assert elapsed_ms <= deadline_ms + 250, f"answered after {elapsed_ms:.0f} ms"
    assert body["partial"] is True, body
    assert body["leaves"]["timedOut"] == [slow], body["leaves"]
    expected_answered = sorted(set(range(len(leaves) + 1)) - {slow})
    assert body["leaves"]["answered"] == expected_answered, body["leaves"]
    # The top-k merge of the other leaves' own answers, by id, best score kept.
    best = {}
    for leaf in leaves:
        for hit in leaf_hits(leaf, query, k):
            if hit["id"] not in best or hit["score"] > best[hit["id"]]["score"]:
                best[hit["id"]] = hit
    expected = ranked(best.values())[:k]
    assert expected, "the other leaves find nothing: a useless check"
    assert body["hits"] == expected, (body["hits"], expected)
    print(f"partial {query!r}: answered in {elapsed_ms:.0f} ms (deadline {deadline_ms} ms), "
          f"leaf {slow} timed out, {len(expected)} hits of leaves {expected_answered} exactly")


def refused(root, query, deadline_ms, slow, leaf_timeout_ms):
    deadline_ms, slow, leaf_timeout_ms = int(deadline_ms), int(slow), int(leaf_timeout_ms)
    started = time.monotonic()
    status, body = search(root, query)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert status == 503, (status, body)
    assert body["error"] == "leaves_missing" and body["hits"] == [], body
    assert body["leaves"]["timedOut"] == [slow], body["leaves"]
    assert elapsed_ms <= deadline_ms + 250, f"refused after {elapsed_ms:.0f} ms"
    print(f"refused {query!r}: 503 in {elapsed_ms:.0f} ms, leaf {slow} timed out")
    for attempt in range(2, 12):
        started = time.monotonic()
        status, body = search(root, query)
        elapsed_ms = (time.monotonic() - started) * 1000
        assert status == 503, (status, body)
        failed = {f["leaf"]: f["error"] for f in body["leaves"]["failed"]}
        if "circuit breaker open" in failed.get(slow, ""):
            assert elapsed_ms < leaf_timeout_ms, f"breaker open, yet {elapsed_ms:.0f} ms"
            print(f"request {attempt}: leaf {slow}'s breaker is open, 503 in {elapsed_ms:.0f} ms")
            return
    raise AssertionError("the slow leaf's circuit breaker never opened")


if __name__ == "__main__":
    {"complete": complete, "partial": partial, "refused": refused}[sys.argv[1]](*sys.argv[2:])
