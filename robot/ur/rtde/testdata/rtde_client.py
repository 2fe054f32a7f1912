#!/usr/bin/env python3
"""Independent RTDE client, Python 3 standard library only.

It reproduces what UR's official RTDE Python client (RTDE_Python_Client_Library
2.7.x, examples/record.py and examples/example_control_loop.py) does on the
wire, as described in spec robot-protocols.md section 1, so fabcell's
simulator can be checked against a client that shares no code with it:

  connect -> V(2) -> v -> O(frequency, names) -> I(names)... -> S
          -> receive U (newest, or every package when buffered) -> P -> close

Outputs are unpacked with the types the *server* returned (like the official
DataConfig.unpack_recipe); a reply containing NOT_FOUND or IN_USE raises
ValueError("Unknown data type: ...") like the official client.

Sub-commands:
  record   like examples/record.py: --host --port --samples --frequency
           --config --output [--buffered]; writes a space-delimited CSV with
           header "timestamp actual_q_0 ... " and prints a summary line.
  control  like examples/example_control_loop.py: output recipe "state",
           input recipes "setp" (6 input double registers) and "watchdog"
           (input_int_register_0); alternates two set-points with the ready /
           confirm handshake and checks that the robot reached each one.
  badfield sets up an output recipe containing an unknown field (or, with
           --input, an input recipe with a field another client owns) and
           expects ValueError.
"""
import argparse
import csv
import select
import socket
import struct
import sys
import time
import xml.etree.ElementTree as ET

V, v_, M, U, O, I, S, P = (ord(c) for c in "VvMUOISP")

TYPE_FMT = {
    "BOOL": "?", "UINT8": "B", "UINT32": "I", "UINT64": "Q", "INT32": "i",
    "DOUBLE": "d", "VECTOR3D": "ddd", "VECTOR6D": "dddddd",
    "VECTOR6INT32": "iiiiii", "VECTOR6UINT32": "IIIIII",
}


class Recipe:
    def __init__(self, rid, names, types):
        self.id, self.names, self.types = rid, names, types
        fmt = ">B"
        for t in types:
            if t not in TYPE_FMT:
                raise ValueError("Unknown data type: " + t)
            fmt += TYPE_FMT[t]
        self.fmt = fmt

    def unpack(self, payload):
        vals = struct.unpack_from(self.fmt, payload)
        if vals[0] != self.id:
            raise ValueError("recipe id %d, expected %d" % (vals[0], self.id))
        out, i = {}, 1
        for n, t in zip(self.names, self.types):
            k = len(TYPE_FMT[t])
            out[n] = vals[i] if k == 1 else list(vals[i:i + k])
            i += k
        return out

    def pack(self, values):
        flat = [self.id]
        for n, t in zip(self.names, self.types):
            x = values[n]
            flat.extend(x if isinstance(x, (list, tuple)) else [x])
        return struct.pack(self.fmt, *flat)


class Client:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.output = None
        self.messages = []

    def send(self, cmd, payload=b""):
        self.sock.sendall(struct.pack(">HB", 3 + len(payload), cmd) + payload)

    def _read_packets(self, timeout):
        """Read what is available (waiting up to timeout) and split packets."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if r:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed by the controller")
            self.buf += data
        pkts = []
        while len(self.buf) >= 3:
            size, cmd = struct.unpack_from(">HB", self.buf)
            if size < 3:
                raise ValueError("bad package size %d" % size)
            if len(self.buf) < size:
                break
            pkts.append((cmd, self.buf[3:size]))
            self.buf = self.buf[size:]
        return pkts

    def _on_message(self, payload):
        n = payload[0]
        msg = payload[1:1 + n].decode()
        s = payload[1 + n]
        src = payload[2 + n:2 + n + s].decode()
        level = payload[2 + n + s]
        self.messages.append((level, src, msg))

    def request(self, cmd, payload=b""):
        self.send(cmd, payload)
        deadline = time.time() + 5
        pending = []
        while time.time() < deadline:
            for c, p in self._read_packets(0.1):
                if c == cmd:
                    return p
                if c == M:
                    self._on_message(p)
        raise TimeoutError("no reply to %c" % cmd)

    def negotiate(self):
        ok = struct.unpack(">B", self.request(V, struct.pack(">H", 2)))[0]
        if not ok:
            raise RuntimeError("protocol version 2 refused")
        major, minor, bugfix, build = struct.unpack(">IIII", self.request(v_))
        if (major, minor, bugfix) < (3, 2, 19171) and major < 5:
            sys.exit("controller too old")  # what the official client does
        return major, minor, bugfix, build

    def setup(self, cmd, names, frequency=None):
        payload = (struct.pack(">d", frequency) if frequency is not None else b"") + ",".join(names).encode()
        reply = self.request(cmd, payload)
        rid = reply[0]
        types = reply[1:].decode().split(",")
        return Recipe(rid, names, types)  # raises ValueError on NOT_FOUND / IN_USE

    def start(self):
        return struct.unpack(">B", self.request(S))[0] == 1

    def pause(self):
        return struct.unpack(">B", self.request(P))[0] == 1

    def receive(self, buffered=False, timeout=1.0):
        """Newest data package (stale ones dropped), or all when buffered."""
        deadline = time.time() + timeout
        got = []
        while time.time() < deadline:
            for c, p in self._read_packets(0.01 if got else 0.1):
                if c == U:
                    got.append(self.output.unpack(p))
                elif c == M:
                    self._on_message(p)
            if got:
                return got if buffered else got[-1]
        raise TimeoutError("no data package")

    def close(self):
        self.sock.close()


def read_config(path, key):
    root = ET.parse(path).getroot()
    for r in root.findall("recipe"):
        if r.get("key") == key:
            fields = r.findall("field")
            return [f.get("name") for f in fields], [f.get("type") for f in fields]
    raise KeyError(key)


def cmd_record(a):
    names, types = read_config(a.config, "out")
    c = Client(a.host, a.port)
    c.negotiate()
    c.output = c.setup(O, names, a.frequency)
    if c.output.types != types:
        raise ValueError("data type inconsistency: %s vs %s" % (c.output.types, types))
    if not c.start():
        raise RuntimeError("start refused")
    header = []
    for n, t in zip(names, types):
        k = len(TYPE_FMT[t])
        header.extend([n] if k == 1 else ["%s_%d" % (n, i) for i in range(k)])
    rows = []
    t0 = time.time()
    while len(rows) < a.samples:
        states = c.receive(buffered=a.buffered)
        for st in (states if a.buffered else [states]):
            row = []
            for n in names:
                x = st[n]
                row.extend(x if isinstance(x, list) else [x])
            rows.append(row)
    elapsed = time.time() - t0
    c.pause()
    c.close()
    with open(a.output, "w", newline="") as f:
        w = csv.writer(f, delimiter=" ")
        w.writerow(header)
        w.writerows(rows[:a.samples])
    print("recorded %d samples in %.3f s" % (a.samples, elapsed))


def cmd_control(a):
    """The loop of example_control_loop.py: alternate two set-points, each
    handed over when the robot reports ready (output_int_register_0 == 1)
    and confirmed when it drops to 0; input_int_register_0 doubles as the
    "new set-point" flag and the watchdog kick."""
    c = Client(a.host, a.port)
    c.negotiate()
    state_names = ["actual_TCP_pose", "target_q", "output_int_register_0"]
    c.output = c.setup(O, state_names, 125.0)
    setp = c.setup(I, ["input_double_register_%d" % i for i in range(6)])
    watchdog = c.setup(I, ["input_int_register_0"])
    if (setp.id, watchdog.id) != (1, 2):
        raise RuntimeError("input recipe ids %d, %d (want 1, 2)" % (setp.id, watchdog.id))
    setp1 = [float(x) for x in a.setp1.split(",")]
    setp2 = [float(x) for x in a.setp2.split(",")]
    sp = {"input_double_register_%d" % i: 0.0 for i in range(6)}
    wd = {"input_int_register_0": 0}
    if not c.start():
        raise RuntimeError("start refused")
    current = [0.0] * 6
    move_completed = True
    commanded = 0
    confirmed = 0
    deadline = time.time() + a.timeout
    while confirmed < a.moves and time.time() < deadline:
        st = c.receive()
        if move_completed and st["output_int_register_0"] == 1:
            if commanded > 0:  # the robot is ready again: it must be at the last set-point
                pose = st["actual_TCP_pose"]
                err = max(abs(pose[i] - current[i]) for i in range(3))
                if err > 1e-4:
                    sys.exit("robot ready %.6f m away from the set-point %s" % (err, current))
                confirmed += 1
                if confirmed >= a.moves:
                    break
            move_completed = False
            current = setp1 if current != setp1 else setp2
            for i in range(6):
                sp["input_double_register_%d" % i] = current[i]
            c.send(U, setp.pack(sp))
            wd["input_int_register_0"] = 1
            commanded += 1
        elif not move_completed and st["output_int_register_0"] == 0:
            move_completed = True
            wd["input_int_register_0"] = 0
        c.send(U, watchdog.pack(wd))  # kick the watchdog every cycle
    c.pause()
    c.close()
    if confirmed < a.moves:
        sys.exit("only %d of %d moves completed" % (confirmed, a.moves))
    print("completed %d moves" % confirmed)


def cmd_badfield(a):
    c = Client(a.host, a.port)
    c.negotiate()
    try:
        if a.input:
            c.setup(O, ["timestamp"], 10.0)
            c.setup(I, [a.field])
        else:
            c.setup(O, ["timestamp", a.field], 10.0)
    except ValueError as e:
        print("ValueError: %s" % e)
        c.close()
        return
    sys.exit("no ValueError for " + a.field)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("record", "control", "badfield"):
        p = sub.add_parser(name)
        p.add_argument("--host", default="localhost")
        p.add_argument("--port", type=int, default=30004)
        if name == "record":
            p.add_argument("--samples", type=int, default=100)
            p.add_argument("--frequency", type=float, default=125)
            p.add_argument("--config", default="record_configuration.xml")
            p.add_argument("--output", default="robot_data.csv")
            p.add_argument("--buffered", action="store_true")
        if name == "control":
            p.add_argument("--setp1", required=True)
            p.add_argument("--setp2", required=True)
            p.add_argument("--timeout", type=float, default=30)
            p.add_argument("--moves", type=int, default=3)
        if name == "badfield":
            p.add_argument("--field", default="no_such_field")
            p.add_argument("--input", action="store_true", help="set the field up as an input")
    a = ap.parse_args()
    {"record": cmd_record, "control": cmd_control, "badfield": cmd_badfield}[a.cmd](a)


if __name__ == "__main__":
    main()
