#!/usr/bin/env python3
"""Runs a three-node sidian cluster on one PostgreSQL database under load, with revocations
racing the signatures and one node killed (SIGKILL) and restarted mid-run; records every request
and every control action for tools/cluster/check.py. Driven by tools/cluster.sh.

Environment (set by cluster.sh):
  SIDIAN_BIN        the sidian binary
  DB_URL            the (fresh, empty) database every node uses
  WORK              a private temp dir: data dirs D0..D2, logs, requests.jsonl, events.json
  DURATION          seconds of load (default 30)
  THREADS           load threads (default 12)
  KILL_NODE         which node to SIGKILL (default: drawn from SEED)
  KILL_AT           seconds into the load (default 0.4 * DURATION); RESTART_AFTER (default 2)
  REVOKE_EVERY      mean seconds between revocations (default 2.5)
  SEED              random seed (default: time)
  SHUTDOWN_TIMEOUT  seconds a node may take to exit after SIGTERM (default 30)

Every request carries its own X-Request-Id, which the ledger writes into the audit entry it
causes, so the checker can tie each entry to the request that caused it.
Python standard library only.
"""

import base64
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

BIN = os.environ["SIDIAN_BIN"]
DB_URL = os.environ["DB_URL"]
WORK = os.environ["WORK"]
DURATION = float(os.environ.get("DURATION", "30"))
THREADS = int(os.environ.get("THREADS", "12"))
SEED = int(os.environ.get("SEED") or int(time.time()))
RNG = random.Random(SEED)
KILL_NODE = int(os.environ.get("KILL_NODE") or RNG.randrange(3))
KILL_AT = float(os.environ.get("KILL_AT") or 0.4 * DURATION)
RESTART_AFTER = float(os.environ.get("RESTART_AFTER", "2"))
REVOKE_EVERY = float(os.environ.get("REVOKE_EVERY", "2.5"))
SHUTDOWN_TIMEOUT = float(os.environ.get("SHUTDOWN_TIMEOUT", "30"))
HOLD = 0.3  # seconds the load keeps using a subject after its revocation was answered
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PDF = open(os.path.join(ROOT, "tests/data/pdf/doc-1p.pdf"), "rb").read()
HOLDER = {"name": "某某市市场监督管理局", "uscc": "11100000000013338W"}

now = time.monotonic


def log(msg):
    print(msg, flush=True)


class Fatal(Exception):
    pass


# ---------------------------------------------------------------- DER (just what is needed)

def der_tlv(buf, off):
    """(tag, content start, content end) of the TLV at off (low tag numbers only)."""
    tag = buf[off]
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[off:off + k], "big")
        off += k
    return tag, off, off + n


def der_children(buf, start, end):
    out, off = [], start
    while off < end:
        tag, cs, ce = der_tlv(buf, off)
        out.append((tag, off, cs, ce))
        off = ce
    return out


def cms_signature(ci):
    """SignerInfo.signature of the first signer of a CMS ContentInfo (SignedData)."""
    _, cs, ce = der_tlv(ci, 0)
    _, _, c0, _ = der_children(ci, cs, ce)[1]            # [0] EXPLICIT content
    _, sd, sde = der_tlv(ci, c0)                          # SignedData
    _, _, sis, _ = der_children(ci, sd, sde)[-1]          # signerInfos SET
    _, si, sie = der_tlv(ci, sis)                         # first SignerInfo
    for tag, _, a, b in der_children(ci, si, sie):
        if tag == 0x04:                                   # signature OCTET STRING
            return ci[a:b]
    raise ValueError("no signature in SignerInfo")


def ses_signature(der):
    """SES_Signature.signature (BIT STRING content after the unused-bits octet)."""
    _, cs, ce = der_tlv(der, 0)
    for tag, _, a, b in der_children(der, cs, ce):
        if tag == 0x03:
            return der[a + 1:b]
    raise ValueError("no signature in SES_Signature")


def der(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([tag, n])
    else:
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([tag, 0x80 | len(nb)]) + nb
    return head + content


SHA256_ALG = der(0x30, bytes.fromhex("0609608648016503040201") + b"\x05\x00")


def timestamp_query():
    nonce = os.urandom(8)
    if nonce[0] & 0x80:
        nonce = b"\x00" + nonce
    imprint = der(0x30, SHA256_ALG + der(0x04, hashlib.sha256(os.urandom(32)).digest()))
    return der(0x30, der(0x02, b"\x01") + imprint + der(0x02, nonce) + der(0x01, b"\xff"))


def timestamp_token(resp):
    """(PKIStatus, token ContentInfo bytes or None) of a TimeStampResp."""
    _, cs, ce = der_tlv(resp, 0)
    kids = der_children(resp, cs, ce)
    _, _, ss, se = kids[0]
    _, a, b = der_tlv(resp, ss)
    status = int.from_bytes(resp[a:b], "big")
    if len(kids) < 2:
        return status, None
    _, off, _, end = kids[1]
    return status, resp[off:end]


PDF_CONTENTS = re.compile(rb"/Contents\s*<([0-9A-Fa-f]+)>")


def pdf_signature(pdf):
    m = None
    for m in PDF_CONTENTS.finditer(pdf):
        pass
    if m is None:
        raise ValueError("no /Contents hex string")
    raw = bytes.fromhex(m.group(1).decode())
    _, _, end = der_tlv(raw, 0)
    return cms_signature(raw[:end])


def sha_hex(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- nodes

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    def __init__(self, i):
        self.i = i
        self.data = os.path.join(WORK, f"D{i}")
        self.port = free_port()
        self.log = os.path.join(WORK, f"node-{i}.log")
        self.pidfile = os.path.join(WORK, f"node-{i}.pid")
        self.proc = None
        self.starts = 0

    def cmd(self):
        return [BIN, "serve", "--data", self.data, "--database", DB_URL,
                "--listen", f"127.0.0.1:{self.port}"]

    def start(self):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.cmd(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        with open(self.pidfile, "w") as f:
            f.write(str(self.proc.pid))
        self.starts += 1

    def reaped(self):
        try:
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass

    def wait_up(self, timeout=60):
        end = now() + timeout
        while now() < end:
            if self.proc.poll() is not None:
                self.reaped()
                raise Fatal(f"node {self.i} exited with status {self.proc.returncode} while "
                            f"starting; its log:\n{tail(self.log)}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                ok = c.getresponse().status == 200
                c.close()
                if ok:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise Fatal(f"node {self.i} did not answer /healthz within {timeout}s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reaped()

    def terminate(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout):
        """Exit status after SIGTERM, or None if it had to be killed."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.reaped()
        return rc


def tail(path, n=8):
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return ""
    return "\n".join("    " + l for l in lines[-n:])


def join_dir(path, src):
    """A new node's data dir, the documented way: empty, 0700, with only the master key and
    the pinned audit key copied in (0600)."""
    os.mkdir(path, 0o700)
    os.chmod(path, 0o700)
    for name in ("master.key", "audit-key.pem"):
        shutil.copyfile(os.path.join(src, name), os.path.join(path, name))
        os.chmod(os.path.join(path, name), 0o600)


# ---------------------------------------------------------------- API and CLI

def call(node, method, path, key, body=None, ctype="application/json", rid=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            headers["Content-Type"] = ctype
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
        if rid:
            headers["X-Request-Id"] = rid
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def api_json(node, method, path, key, body=None, want=(200, 201)):
    status, data = call(node, method, path, key, body)
    if status not in want:
        raise Fatal(f"{method} {path} on node {node.i} answered {status}: {data[:300]!r}")
    return json.loads(data)


def cli(*args):
    """Runs the CLI on node 0's data dir: one more writer on the same log."""
    p = subprocess.run([BIN, *args, "--data", os.path.join(WORK, "D0"), "--database", DB_URL],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Fatal(f"sidian {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    return p.stdout


def add_client(name):
    out = cli("client", "add", name)
    m = re.search(r"registered client \S+ \((\S+)\)", out)
    return {"name": name, "id": m.group(1) if m else None, "key": out.strip().splitlines()[-1]}


def new_key(node, key, alg):
    return api_json(node, "POST", "/v1/keys", key, {"alg": alg})["id"]


def new_seal(node, key, alg):
    body = {"name": "某某市市场监督管理局合同专用章", "type": "contract", "holder": HOLDER}
    if alg != "sm2":
        body["alg"] = alg
    return api_json(node, "POST", "/v1/seals", key, body)["id"]


# ---------------------------------------------------------------- the run

class Run:
    # kind -> (weight, what is revoked to race it)
    KINDS = {"key_sm2": 3, "key_p256": 3, "seal_sm2": 2, "stamp": 1, "tsa": 1, "victim": 2}

    def __init__(self):
        self.nodes = [Node(i) for i in range(3)]
        self.up = {0, 1, 2}
        self.ctl = threading.Lock()      # held around control requests; a kill waits for it
        self.cur_lock = threading.Lock()
        self.cur = {}                    # kind -> (subject, client name, api key)
        self.stop = threading.Event()
        self.records = [[] for _ in range(THREADS)]
        self.events = {"seed": SEED, "kill_node": KILL_NODE, "revocations": [], "kills": [],
                       "subjects": [], "victims": [], "setup_errors": []}
        self.victims = []                # prepared victim clients, in order of use
        self.victim_no = 0
        self.rr = 0

    # -- setup
    def start_nodes(self):
        n0 = self.nodes[0]
        n0.start()
        n0.wait_up()
        for n in self.nodes[1:]:
            join_dir(n.data, n0.data)
        self.wrong_master_check()
        for n in self.nodes[1:]:
            n.start()
        for n in self.nodes[1:]:
            n.wait_up()
        log(f"== nodes up: " + ", ".join(f"node {n.i} :{n.port}" for n in self.nodes)
            + " (node 0 made the vault; nodes 1, 2 joined with master.key + audit-key.pem)")

    def wrong_master_check(self):
        bad = os.path.join(WORK, "Dbad")
        join_dir(bad, self.nodes[0].data)
        with open(os.path.join(bad, "master.key"), "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        port = free_port()
        p = subprocess.Popen([BIN, "serve", "--data", bad, "--database", DB_URL, "--listen",
                              f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # it started: that is the failure
            p.kill()
            out, _ = p.communicate()
        msg = out.strip().splitlines()
        ok = p.returncode != 0 and "master key does not match" in out
        self.events["wrong_master"] = {"ok": ok, "rc": p.returncode, "msg": msg[-1] if msg else ""}
        log(f"== wrong master key: serve exited {p.returncode}"
            f" ({msg[-1][:110] if msg else 'no output'}) {'ok' if ok else 'FAILED'}")

    def setup(self):
        self.main = add_client("cluster-main")
        self.events["main"] = {k: self.main[k] for k in ("name", "id")}
        n = self.nodes
        k = self.main["key"]
        self.cur["key_sm2"] = self.subject("key_sm2", new_key(n[0], k, "sm2"), self.main)
        self.cur["key_p256"] = self.subject("key_p256", new_key(n[1], k, "p256"), self.main)
        self.cur["seal_sm2"] = self.subject("seal_sm2", new_seal(n[2], k, "sm2"), self.main)
        self.cur["stamp"] = self.subject("stamp", new_seal(n[0], k, "p256"), self.main)
        self.cur["tsa"] = ("tsa", self.main["name"], k)
        for _ in range(2):
            self.prepare_victim(n[1])
        self.cur["victim"] = self.next_victim()
        # One request of each kind by hand, so that a broken route fails the run at once.
        for j, kind in enumerate(self.KINDS):
            rec = self.request(None, n[j % 3], kind, self.cur[kind], "setup-" + kind)
            self.records[0].append(rec)
            if rec[6] != 200:
                raise Fatal(f"setup request {kind} answered {rec[6]}: {rec[10]}")
        log(f"== clients: {self.main['name']} + victims; keys SM2, P-256; seals SM2 (sign), "
            f"P-256 (PDF stamp); one request of each kind answered 200")

    def subject(self, kind, sid, client):
        self.events["subjects"].append({"kind": kind, "id": sid, "client": client["name"]})
        return (sid, client["name"], client["key"])

    def prepare_victim(self, node):
        i = len(self.victims)
        v = add_client(f"cluster-victim-{i}")
        v["key_id"] = new_key(node, v["key"], "sm2")
        self.victims.append(v)
        self.events["victims"].append({k: v[k] for k in ("name", "id", "key_id")})

    def next_victim(self):
        v = self.victims[self.victim_no]
        self.victim_no += 1
        return (v["key_id"], v["name"], v["key"])

    # -- one request
    def request(self, conns, node, kind, subj, rid):
        sid, cname, key = subj
        headers = {"Authorization": f"Bearer {key}", "X-Request-Id": rid}
        if kind in ("key_sm2", "key_p256", "victim"):
            path = f"/v1/keys/{sid}/sign"
            body = json.dumps({"data": base64.b64encode(os.urandom(32)).decode()}).encode()
            headers["Content-Type"] = "application/json"
        elif kind == "seal_sm2":
            path = f"/v1/seals/{sid}/sign"
            body = json.dumps({"data": base64.b64encode(os.urandom(32)).decode()}).encode()
            headers["Content-Type"] = "application/json"
        elif kind == "stamp":
            path = f"/v1/seals/{sid}/stamp"
            body = PDF
            headers["Content-Type"] = "application/pdf"
        else:
            path = "/v1/tsa"
            body = timestamp_query()
            headers["Content-Type"] = "application/timestamp-query"
        conn = conns.get(node.i) if conns is not None else None
        status, idx, sig, tok, err = 0, None, None, None, None
        t_send = now()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
            conn.request("POST", path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            t_recv = now()
            status = r.status
            if conns is not None:
                # An answer given before the request body was read (a refusal by the auth
                # extractor) may be followed by the server closing the connection without a
                # `Connection: close`: a refused request costs its connection.
                if status == 200:
                    conns[node.i] = conn
                else:
                    conn.close()
                    conns.pop(node.i, None)
            if status == 200:
                try:
                    if kind == "stamp":
                        idx = int(r.getheader("x-sidian-audit-index"))
                        sig = sha_hex(pdf_signature(data))
                    elif kind == "tsa":
                        st, token = timestamp_token(data)
                        if st not in (0, 1) or token is None:
                            err = f"time-stamp rejected (status {st})"
                        else:
                            tok = sha_hex(token)
                            sig = sha_hex(cms_signature(token))
                    else:
                        j = json.loads(data)
                        idx = j["audit_index"]
                        raw = base64.b64decode(j["signature"])
                        sig = sha_hex(ses_signature(raw) if kind == "seal_sm2" else raw)
                except Exception as e:  # an answer we cannot read is a finding too
                    err = f"unreadable answer: {e!r}"
            else:
                try:
                    err = json.loads(data)["error"]["code"]
                except Exception:
                    err = data[:80].decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            t_recv = now()
            err = type(e).__name__
            if conn is not None:
                conn.close()
            if conns is not None:
                conns.pop(node.i, None)
        if conns is None and conn is not None:
            conn.close()
        return [node.i, kind, sid, cname, t_send, t_recv, status, idx, sig, tok, err, rid]

    def worker(self, tid):
        rng = random.Random(SEED * 1000 + tid)
        kinds, weights = list(self.KINDS), list(self.KINDS.values())
        conns, rr, n, out = {}, tid, 0, self.records[tid]
        while not self.stop.is_set():
            node = self.nodes[rr % 3]
            rr += 1
            kind = rng.choices(kinds, weights)[0]
            with self.cur_lock:
                subj = self.cur[kind]
            n += 1
            rec = self.request(conns, node, kind, subj, f"cl-{tid}-{n}")
            out.append(rec)
            if rec[6] == 0:
                time.sleep(0.02)  # a dead node refuses at once: do not spin on it
        for c in conns.values():
            c.close()

    # -- control
    def control_node(self):
        """An up node for a control request, in turn (the caller holds self.ctl)."""
        for _ in range(3):
            self.rr += 1
            if self.rr % 3 in self.up:
                return self.nodes[self.rr % 3]
        raise Fatal("no node is up")

    def revoke(self, kind, t0):
        with self.cur_lock:
            sid, cname, key = self.cur[kind]
        ev = {"kind": kind, "subject": sid, "client": cname, "t_start": now() - t0}
        if kind == "victim":
            ev["how"] = "cli"
            ev["node"] = None
            t_send = now()
            try:
                cli("client", "revoke", cname)
                ev["status"] = 0
            except Fatal as e:
                ev["status"] = 1
                ev["error"] = str(e)
            t_recv = now()
        else:
            with self.ctl:
                node = self.control_node()
                rid = f"revoke-{len(self.events['revocations'])}"
                if kind.startswith("key"):
                    path, body = f"/v1/keys/{sid}/disable", None
                else:
                    path, body = f"/v1/seals/{sid}/revoke", {"reason": "cluster test"}
                t_send = now()
                try:
                    st, data = call(node, "POST", path, key, body, rid=rid)
                except OSError as e:
                    st, data = 0, repr(e).encode()
                t_recv = now()
            ev.update(how="api", node=node.i, status=st, request_id=rid)
            if st != 200:
                ev["error"] = data[:300].decode(errors="replace")
        ev.update(t_send=t_send, t_recv=t_recv)
        self.events["revocations"].append(ev)
        # The load keeps sending to the revoked subject a little longer: every one of those
        # requests was sent after the revocation's answer and must be refused.
        time.sleep(HOLD)
        if kind == "victim":
            with self.cur_lock:
                self.cur["victim"] = self.next_victim()
            with self.ctl:
                self.prepare_victim(self.control_node())
            return
        with self.ctl:
            node = self.control_node()
            k = self.main["key"]
            if kind == "key_sm2":
                new = new_key(node, k, "sm2")
            elif kind == "key_p256":
                new = new_key(node, k, "p256")
            elif kind == "seal_sm2":
                new = new_seal(node, k, "sm2")
            else:
                new = new_seal(node, k, "p256")
        with self.cur_lock:
            self.cur[kind] = self.subject(kind, new, self.main)

    def revoker(self, t0):
        cycle = ["key_sm2", "seal_sm2", "victim", "key_p256", "stamp"]
        rng = random.Random(SEED + 7)
        at, i = 1.5, 0
        try:
            while at < DURATION - 1.5:
                while now() - t0 < at:
                    if self.stop.wait(0.02):
                        return
                self.revoke(cycle[i % len(cycle)], t0)
                i += 1
                at += REVOKE_EVERY * rng.uniform(0.6, 1.4)
        except Exception as e:
            self.events["setup_errors"].append(f"revoker: {e}")
            log(f"   ERROR in the revoker: {e}")

    def run(self):
        self.start_nodes()
        self.setup()
        log(f"== load: {THREADS} threads round-robin over 3 nodes for {DURATION:g}s "
            f"(seed {SEED}); revocation every ~{REVOKE_EVERY:g}s; SIGKILL node {KILL_NODE} at "
            f"{KILL_AT:g}s, restart {RESTART_AFTER:g}s later")
        t0 = now()
        self.events["t0"] = t0
        workers = [threading.Thread(target=self.worker, args=(t,)) for t in range(THREADS)]
        for w in workers:
            w.start()
        rev = threading.Thread(target=self.revoker, args=(t0,))
        rev.start()
        try:
            self.sleep_until(t0 + KILL_AT)
            victim = self.nodes[KILL_NODE]
            with self.ctl:
                t_kill = now()
                victim.kill()
                self.up.discard(KILL_NODE)
            kill = {"node": KILL_NODE, "t_kill": t_kill}
            self.events["kills"].append(kill)
            self.sleep_until(t_kill + RESTART_AFTER)
            kill["t_restart"] = now()
            victim.start()
            victim.wait_up()
            kill["t_up"] = now()
            with self.ctl:
                self.up.add(KILL_NODE)
            log(f"   node {KILL_NODE} SIGKILLed at {t_kill - t0:.1f}s, restarted, answering again "
                f"at {kill['t_up'] - t0:.1f}s")
            self.sleep_until(t0 + DURATION)
        finally:
            self.stop.set()
            for w in workers:
                w.join()
            rev.join()
        self.events["t_end"] = now()
        self.stop_nodes()

    def sleep_until(self, t):
        while now() < t:
            time.sleep(min(0.05, max(0, t - now())))

    def stop_nodes(self):
        for n in self.nodes:
            n.terminate()
        t = now()
        rcs = [n.wait_exit(max(1.0, SHUTDOWN_TIMEOUT - (now() - t))) for n in self.nodes]
        self.events["shutdown"] = rcs
        self.events["nodes"] = [{"i": n.i, "port": n.port, "data": n.data, "starts": n.starts}
                                for n in self.nodes]
        log("== SIGTERM: " + ", ".join(
            f"node {n.i} " + ("did not exit (killed)" if rc is None else f"exit {rc}")
            for n, rc in zip(self.nodes, rcs)) + f" ({now() - t:.1f}s)")

    def save(self):
        with open(os.path.join(WORK, "requests.jsonl"), "w") as f:
            for recs in self.records:
                for r in recs:
                    f.write(json.dumps(r, separators=(",", ":")) + "\n")
        with open(os.path.join(WORK, "events.json"), "w") as f:
            json.dump(self.events, f, ensure_ascii=False)


def main():
    run = Run()
    try:
        run.run()
    except Fatal as e:
        log(f"cluster: {e}")
        return 1
    finally:
        for n in run.nodes:
            if n.proc and n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
                n.reaped()
        run.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
