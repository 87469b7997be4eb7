#!/usr/bin/env python3
"""Proves, from the database, the nodes' checkpoint files and what tools/cluster/load.py
recorded, that three sidian nodes on one PostgreSQL database behaved as one vault:

  b. one audit log: every 2xx answer names (or, for a time-stamp, is found by its token in) an
     entry of the right action, subject and actor whose signature_sha256 is the hash of the
     signature the client received, found in exactly one entry; no two answers share an entry
  c. revocations: no signature entry of a revoked seal/key or revoked client after the
     revocation's entry; no 2xx answer to a request sent after a revocation was answered (or the
     CLI that revoked a client exited); every revocation dated after the signatures before it
  d. checkpoints: every checkpoint in the database and in each node's audit-checkpoints.jsonl
     states the RFC 6962 root of the first `size` leaf hashes of the one log
  e. per node: requests, 2xx, refusals caused by revocations, failures in the kill window,
     and no other failure

usage: check.py   (environment: DB_URL, WORK)   exit 1 on any violation
"""

import base64
import collections
import csv
import hashlib
import io
import json
import os
import subprocess
import sys

csv.field_size_limit(1 << 30)
DB_URL = os.environ["DB_URL"]
WORK = os.environ["WORK"]
SIG_ACTIONS = {"signature.created", "timestamp.issued"}
failed = []


def verdict(label, ok, text):
    print(f"{label:<34} {'ok' if ok else 'FAILED'}  {text}")
    if not ok:
        failed.append(label)


def copy(query):
    out = subprocess.run(["psql", "-Atq", DB_URL, "-c", f"COPY ({query}) TO STDOUT WITH CSV"],
                         check=True, capture_output=True).stdout.decode()
    return list(csv.reader(io.StringIO(out)))


def sha(b):
    return hashlib.sha256(b).digest()


# ---------------------------------------------------------------- inputs

events = json.load(open(os.path.join(WORK, "events.json")))
reqs = [json.loads(l) for l in open(os.path.join(WORK, "requests.jsonl"))]
# node, kind, subject, client name, t_send, t_recv, status, audit_index, sig sha, token sha, err, rid
NODE, KIND, SID, CNAME, TS, TR, ST, IDX, SIG, TOK, ERR, RID = range(12)

if DB_URL.startswith("sqlite:"):
    # The same checks on a SQLite file that several local processes share (for trying the
    # scripts without PostgreSQL; cluster.sh itself always uses PostgreSQL).
    import sqlite3
    path = DB_URL[len("sqlite:"):].split("?")[0]
    db = sqlite3.connect(path[2:] if path.startswith("//") else path)
    q = lambda sql: db.execute(sql).fetchall()
    raw_entries = q("SELECT idx, action, subject, actor, record, leaf_hash FROM audit_entries "
                    "ORDER BY idx")
else:
    q = copy
    raw_entries = [(i, a, s, ac, bytes.fromhex(r), bytes.fromhex(l)) for i, a, s, ac, r, l in copy(
        "SELECT idx, action, subject, actor, encode(record, 'hex'), encode(leaf_hash, 'hex') "
        "FROM audit_entries ORDER BY idx")]
entries = [{"idx": int(idx), "action": action, "subject": subject, "actor": actor,
            "raw": bytes(raw), "leaf": bytes(leaf), "rec": json.loads(bytes(raw))}
           for idx, action, subject, actor, raw, leaf in raw_entries]
clients = {name: cid for cid, name in q("SELECT id, name FROM clients")}
db_checkpoints = [(int(s), note) for s, note in q("SELECT size, note FROM audit_checkpoints")]
by_idx = {e["idx"]: e for e in entries}
by_sig = collections.defaultdict(list)
by_token = collections.defaultdict(list)
by_rid = collections.defaultdict(list)
for e in entries:
    d = e["rec"].get("details", {})
    if "signature_sha256" in d:
        by_sig[d["signature_sha256"]].append(e)
    if "token_sha256" in d:
        by_token[d["token_sha256"]].append(e)
    if "request_id" in d:
        by_rid[d["request_id"]].append(e)

# ---------------------------------------------------------------- b. one audit log

answered = [r for r in reqs if 200 <= r[ST] < 300]
problems = []
seen_idx = {}
for r in answered:
    if r[ERR]:
        problems.append(f"{r[RID]}: 2xx but {r[ERR]}")
        continue
    actor = f"client:{clients.get(r[CNAME])}"
    if r[KIND] == "tsa":
        found = by_token.get(r[TOK], [])
        if len(found) != 1:
            problems.append(f"{r[RID]}: time-stamp token in {len(found)} entries")
            continue
        e = found[0]
        want_action, want_subject = "timestamp.issued", e["subject"]
        if not e["subject"].startswith("tsa:"):
            problems.append(f"{r[RID]}: token entry {e['idx']} has subject {e['subject']}")
    else:
        e = by_idx.get(r[IDX])
        if e is None:
            problems.append(f"{r[RID]}: audit_index {r[IDX]} is not in the log")
            continue
        want_action = "signature.created"
        want_subject = ("seal:" if r[KIND] in ("seal_sm2", "stamp") else "key:") + r[SID]
    if e["idx"] in seen_idx:
        problems.append(f"{r[RID]} and {seen_idx[e['idx']]} share entry {e['idx']}")
    seen_idx[e["idx"]] = r[RID]
    d = e["rec"].get("details", {})
    if (e["action"], e["subject"], e["actor"]) != (want_action, want_subject, actor):
        problems.append(f"{r[RID]}: entry {e['idx']} is {e['action']} {e['subject']} by "
                        f"{e['actor']}, expected {want_action} {want_subject} by {actor}")
    if d.get("signature_sha256") != r[SIG]:
        problems.append(f"{r[RID]}: entry {e['idx']} records signature_sha256 "
                        f"{d.get('signature_sha256')}, the answer's signature hashes to {r[SIG]}")
    if len(by_sig.get(r[SIG], [])) != 1:
        problems.append(f"{r[RID]}: its signature is in {len(by_sig.get(r[SIG], []))} entries")
    if d.get("request_id") != r[RID]:
        problems.append(f"{r[RID]}: entry {e['idx']} names request {d.get('request_id')}")
sig_entries = [e for e in entries if e["action"] in SIG_ACTIONS]
load_rids = {r[RID]: r for r in reqs}
unanswered = collections.Counter()
for e in sig_entries:
    rid = e["rec"].get("details", {}).get("request_id", "")
    r = load_rids.get(rid)
    if r is None:
        if rid.startswith(("cl-", "setup-")):
            problems.append(f"entry {e['idx']} names request {rid}, which was never sent")
        continue
    if not 200 <= r[ST] < 300:
        unanswered["lost connection (kill)" if r[ST] == 0 else f"answered {r[ST]}"] += 1
extra = ", ".join(f"{n} {why}" for why, n in sorted(unanswered.items())) or "none"
verdict("b. one audit log", not problems,
        f"{len(answered)} answers with signatures each matched to their own entry (action, "
        f"subject, actor, signature_sha256, request id; one entry per signature, "
        f"{len(seen_idx)} distinct indices); {len(sig_entries)} signature/time-stamp entries "
        f"in all; entries of load requests without a 2xx: {extra}")
for p in problems[:15]:
    print("     ", p)

# ---------------------------------------------------------------- c. revocations

problems = []
revoked_log = 0
dated = 0
sig_by_subject = collections.defaultdict(list)   # "key:K" / "seal:S" -> signature entries
by_actor = collections.defaultdict(list)
for e in entries:
    by_actor[e["actor"]].append(e)
    if e["action"] == "signature.created":
        sig_by_subject[e["subject"]].append(e)
        k = e["rec"].get("details", {}).get("key")
        if k:
            sig_by_subject["key:" + k].append(e)
for e in entries:
    R = e["idx"]
    if e["action"] in ("seal.revoked", "key.disabled"):
        revoked_log += 1
        for s in sig_by_subject.get(e["subject"], []):
            if s["idx"] > R:
                problems.append(f"{s['action']} {s['subject']} at {s['idx']} after "
                                f"{e['action']} {e['subject']} at {R}")
            elif s["rec"]["details"].get("signed_at_ms", -1) >= e["rec"]["at_ms"]:
                problems.append(f"{e['action']} {e['subject']} at {R} is dated "
                                f"{e['rec']['at_ms']}, not after signature {s['idx']} signed at "
                                f"{s['rec']['details'].get('signed_at_ms')}")
            else:
                dated += 1
    elif e["action"] == "client.revoked":
        revoked_log += 1
        cid = e["subject"].split(":", 1)[1]
        for s in by_actor.get(f"client:{cid}", []):
            if s["idx"] > R:
                problems.append(f"{s['action']} {s['subject']} by client:{cid} at {s['idx']} "
                                f"after client.revoked at {R}")
            elif s["action"] in SIG_ACTIONS:
                if s["rec"]["details"].get("signed_at_ms", -1) >= e["rec"]["at_ms"]:
                    problems.append(f"client.revoked at {R} not dated after signature {s['idx']}")
                else:
                    dated += 1
revs = events["revocations"]
after = after_other = raced = raced_ok = 0
after_status = collections.Counter()
for ev in revs:
    if ev["status"] != (0 if ev["how"] == "cli" else 200):
        problems.append(f"revocation of {ev['kind']} {ev['subject']} failed: {ev.get('error')}")
        continue
    if ev["how"] == "cli":
        match = lambda r: r[KIND] == "victim" and r[CNAME] == ev["client"]
        cid = clients.get(ev["client"])
        found = [e for e in entries
                 if e["action"] == "client.revoked" and e["subject"] == f"client:{cid}"]
    else:
        match = lambda r: r[SID] == ev["subject"] and r[KIND] != "victim"
        action = "key.disabled" if ev["kind"].startswith("key") else "seal.revoked"
        found = [e for e in by_rid.get(ev["request_id"], []) if e["action"] == action]
    if len(found) != 1:
        problems.append(f"revocation of {ev['kind']} {ev['subject']}: {len(found)} entries")
    for r in reqs:
        if not match(r):
            continue
        if r[TS] > ev["t_recv"]:
            after += 1
            after_other += r[NODE] != ev["node"]
            after_status[r[ST]] += 1
            if 200 <= r[ST] < 300:
                problems.append(f"{r[RID]} ({r[KIND]} {r[SID]} on node {r[NODE]}) sent "
                                f"{r[TS] - ev['t_recv']:.3f}s after the revocation was answered "
                                f"got {r[ST]}, audit index {r[IDX]}")
        elif r[TR] > ev["t_send"]:
            raced += 1
            raced_ok += 200 <= r[ST] < 300
kinds = collections.Counter(ev["kind"] for ev in revs)
statuses = " ".join(f"{s or 'no answer'}×{n}" for s, n in sorted(after_status.items()))
verdict("c. revocations hold on every node", not problems,
        f"{len(revs)} revocations ({kinds['key_sm2'] + kinds['key_p256']} keys, "
        f"{kinds['seal_sm2'] + kinds['stamp']} seals via API on any node, {kinds['victim']} "
        f"clients via the CLI); {revoked_log} revocation entries, no signature of their "
        f"subject after them, each dated after every signature before it ({dated} pairs); {after} "
        f"requests sent after a revocation was answered ({after_other} to another node than "
        f"the revoking one), none 2xx ({statuses}); {raced} raced "
        f"it ({raced_ok} of them 2xx, all before the revocation's entry)")
for p in problems[:15]:
    print("     ", p)

# ---------------------------------------------------------------- d. checkpoints

problems = []
leaves = [e["leaf"] for e in entries]
bad_leaf = [e["idx"] for e in entries if sha(b"\x00" + e["raw"]) != e["leaf"]]
if bad_leaf:
    problems.append(f"leaf_hash is not SHA-256(0x00 || record) at {bad_leaf[:5]}")
if [e["idx"] for e in entries] != list(range(len(entries))):
    problems.append("audit_entries indices are not 0..n-1")
levels = [leaves]
while len(levels[-1]) > 1:
    prev = levels[-1]
    levels.append([sha(b"\x01" + prev[i] + prev[i + 1]) for i in range(0, len(prev) - 1, 2)])


def mth(start, n):
    if n == 0:
        return sha(b"")
    if n & (n - 1) == 0:
        h = n.bit_length() - 1
        return levels[h][start >> h]
    k = 1 << (n.bit_length() - 1)
    if k == n:
        k >>= 1
    return sha(b"\x01" + mth(start, k) + mth(start + k, n - k))


def check_note(where, size, note):
    lines = note.split("\n")
    try:
        origin, nsize, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    except (IndexError, ValueError):
        problems.append(f"{where}: malformed note")
        return None
    if nsize != size:
        problems.append(f"{where}: note says size {nsize}, stored as {size}")
    elif size > len(leaves):
        problems.append(f"{where}: size {size} beyond the log's {len(leaves)} entries")
    elif root != mth(0, size):
        problems.append(f"{where}: root of size {size} is not the Merkle root of the log's first "
                        f"{size} leaves")
    return origin


origins = set()
counts = [f"database {len(db_checkpoints)}"]
max_size = 0
for size, note in db_checkpoints:
    origins.add(check_note(f"audit_checkpoints size {size}", size, note))
    max_size = max(max_size, size)
for n in events.get("nodes", []):
    path = os.path.join(n["data"], "audit-checkpoints.jsonl")
    k = 0
    for ln, line in enumerate(open(path) if os.path.exists(path) else [], 1):
        if not line.strip():
            continue
        try:
            cp = json.loads(line)
        except ValueError:
            problems.append(f"D{n['i']} line {ln} is not JSON")
            continue
        origins.add(check_note(f"D{n['i']} line {ln}", cp["size"], cp["note"]))
        max_size = max(max_size, cp["size"])
        k += 1
    counts.append(f"node {n['i']} {k}")
if len(origins) != 1:
    problems.append(f"checkpoints name {len(origins)} origins: {origins}")
verdict("d. checkpoints are of one log", not problems,
        f"{', '.join(counts)} checkpoints, every root = RFC 6962 root of the first `size` of the "
        f"{len(leaves)} leaves (largest size {max_size}); every leaf = SHA-256(0x00‖record)")
for p in problems[:15]:
    print("     ", p)

# ---------------------------------------------------------------- e. per node

t0, t_end = events["t0"], events["t_end"]
kills = events["kills"]
revs_by_subject = collections.defaultdict(list)
for ev in revs:
    revs_by_subject[("victim", ev["client"]) if ev["kind"] == "victim" else ("s", ev["subject"])
                    ].append(ev["t_send"])


def why_failed(r):
    for k in kills:
        if (r[NODE] == k["node"] and r[ST] == 0 and r[TR] >= k["t_kill"]
                and r[TS] <= k.get("t_up", t_end)):
            return "kill"
    key = ("victim", r[CNAME]) if r[KIND] == "victim" else ("s", r[SID])
    if r[ST] in (401, 404, 409) and any(t <= r[TR] for t in revs_by_subject.get(key, [])):
        return "revoked"
    return "other"


rows = collections.defaultdict(collections.Counter)
other = collections.Counter()
load = [r for r in reqs if r[RID].startswith("cl-")]     # not the setup's requests
for r in load:
    c = rows[r[NODE]]
    c["requests"] += 1
    if 200 <= r[ST] < 300 and not r[ERR]:
        c["2xx"] += 1
        continue
    why = why_failed(r)
    c[why] += 1
    if why == "other":
        other[(r[NODE], r[KIND], r[ST], r[ERR])] += 1
wall = t_end - t0
print(f"e. per node ({wall:.1f}s of load; node {events['kill_node']} SIGKILLed and restarted):")
for i in sorted(rows):
    c = rows[i]
    print(f"     node {i}: {c['requests']:>6} requests  {c['2xx']:>6} 2xx  "
          f"{c['revoked']:>5} refused (revoked)  {c['kill']:>5} failed in the kill window  "
          f"{c['other']:>3} other failures")
tot = sum(rows.values(), collections.Counter())
by_kind = collections.Counter(r[KIND] for r in load if 200 <= r[ST] < 300)
print(f"     all:    {tot['requests']} requests, {tot['requests'] / wall:.0f} req/s, "
      f"{tot['2xx'] / wall:.0f} 2xx/s ("
      + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())) + ")")
verdict("e. no unexplained failures", not other,
        f"{tot['kill']} failures on node {events['kill_node']} while it was down, "
        f"{tot['revoked']} refusals of revoked subjects, {tot['other']} other")
for (node, kind, st, err), n in other.most_common(10):
    print(f"      node {node} {kind}: status {st} {err} ×{n}")

wm = events.get("wrong_master", {})
if not wm.get("ok"):
    verdict("wrong master key refused", False, f"serve exited {wm.get('rc')}: {wm.get('msg')}")
sd = events.get("shutdown", [])
if sd != [0, 0, 0]:
    verdict("SIGTERM: every node exits 0", False, f"exit statuses {sd}")
if events.get("setup_errors"):
    verdict("control actions", False, "; ".join(events["setup_errors"]))
sys.exit(1 if failed else 0)
