#!/usr/bin/env python3
"""Backends and clients for kig-proxy's integration tests and benchmark (run inside gVisor).

  svc-tool.py serve NAME IP TCP_PORT UDP_PORT   TCP: sends "NAME\\n", then echoes until EOF, then closes;
                                                UDP: answers each datagram with "NAME:" + datagram
  svc-tool.py tcp-names IP PORT N [--src IP]    N connections; prints the name each one got, one per line
  svc-tool.py udp-names IP PORT N [--src IP]    N datagrams, each from a new socket (a new flow)
  svc-tool.py echo IP PORT BYTES                sends BYTES, half-closes, checks the echo; prints "ok NAME"
  svc-tool.py hold IP PORT FIFO_IN              one connection kept open: each line read from FIFO_IN is
                                                sent and its echo printed (checks a connection survives)
  svc-tool.py refused IP PORT                   prints "refused" if the connection is refused (or reset
                                                before any byte), "connected" otherwise
  svc-tool.py dns SERVER NAME TYPE [--tcp]      prints "rcode=N" and one line per answer record
  svc-tool.py fake-dns IP                       a stand-in upstream resolver on IP:53/udp: every A query gets
                                                192.0.2.1, except names starting "slow.", which get nothing
  svc-tool.py bench-connect IP PORT N           median/p90 microseconds of connect + first byte
  svc-tool.py bench-throughput IP PORT MBYTES   MB/s of sending MBYTES and reading the echo back
"""
import os
import random
import socket
import struct
import sys
import threading
import time


def serve(name, ip, tcp_port, udp_port):
    banner = (name + "\n").encode()

    def handle(conn):
        try:
            conn.sendall(banner)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()

    def tcp_loop():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, tcp_port))
        s.listen(128)
        while True:
            c, _ = s.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    def udp_loop():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ip, udp_port))
        while True:
            data, peer = u.recvfrom(65536)
            u.sendto(name.encode() + b":" + data, peer)

    threading.Thread(target=tcp_loop, daemon=True).start()
    threading.Thread(target=udp_loop, daemon=True).start()
    print("serving", name, ip, flush=True)
    while True:
        time.sleep(3600)


def connect(ip, port, src=None, timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((ip, port))
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            break
        buf += d
    return buf.decode().strip()


def opt(args, flag):
    if flag in args:
        i = args.index(flag)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return None


def tcp_names(ip, port, n, src):
    for _ in range(n):
        try:
            s = connect(ip, port, src)
            print(read_line(s) or "EOF")
            s.close()
        except OSError as e:
            print("error:", e.strerror or e)


def udp_names(ip, port, n, src):
    for i in range(n):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(3)
        if src:
            u.bind((src, 0))
        try:
            # Connected, so an ICMP port unreachable surfaces as ECONNREFUSED.
            u.connect((ip, port))
            u.send(b"ping%d" % i)
            data = u.recv(65536)
            peer = u.getpeername()
            name, _, payload = data.decode().partition(":")
            ok = payload == "ping%d" % i and peer == (ip, port)
            print(name if ok else "bad reply %r from %r" % (data, peer))
        except OSError as e:
            print("error:", e.strerror or e)
        u.close()


def echo(ip, port, nbytes):
    s = connect(ip, port, timeout=30)
    name = read_line(s)
    payload = os.urandom(nbytes)
    got = bytearray()

    def reader():
        while True:
            d = s.recv(65536)
            if not d:
                return
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)  # half-close: the echo must still come back in full
    t.join(60)
    s.close()
    print(("ok " if bytes(got) == payload else "MISMATCH %d/%d " % (len(got), nbytes)) + name)


def hold(ip, port, fifo):
    s = connect(ip, port, timeout=30)
    print("name", read_line(s), flush=True)
    with open(fifo) as f:
        for line in f:
            line = line.strip()
            if line == "quit":
                break
            try:
                s.sendall((line + "\n").encode())
                print("echo", read_line(s) or "EOF", flush=True)
            except OSError as e:
                print("error", e.strerror or e, flush=True)


def refused(ip, port):
    try:
        s = connect(ip, port, timeout=3)
        try:
            d = s.recv(1)
            print("connected" if d else "refused")
        except ConnectionResetError:
            print("refused")
    except ConnectionRefusedError:
        print("refused")
    except OSError as e:
        print("error:", e.strerror or e)


TYPES = {"A": 1, "CNAME": 5, "SOA": 6, "AAAA": 28, "SRV": 33}


def dns_name(msg, pos):
    labels, end = [], None
    while True:
        b = msg[pos]
        if b & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = (b & 0x3F) << 8 | msg[pos + 1]
            continue
        if b == 0:
            return ".".join(labels), (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + b].decode())
        pos += 1 + b


def dns(server, name, qtype, use_tcp):
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", TYPES[qtype], 1)
    if use_tcp:
        s = socket.create_connection((server, 53), timeout=5)
        s.sendall(struct.pack(">H", len(q)) + q)
        hdr = s.recv(2, socket.MSG_WAITALL)
        msg = s.recv(struct.unpack(">H", hdr)[0], socket.MSG_WAITALL)
    else:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.sendto(q, (server, 53))
        msg, _ = u.recvfrom(65536)
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    assert rid == qid, "id mismatch"
    print("rcode=%d" % (flags & 0xF) + (" tc" if flags & 0x200 else ""))
    pos = 12
    for _ in range(qd):
        _, pos = dns_name(msg, pos)
        pos += 4
    for _ in range(an):
        rname, pos = dns_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        pos += 10
        rdata = msg[pos:pos + rdlen]
        if rtype == 1:
            print("A", socket.inet_ntoa(rdata))
        elif rtype == 33:
            prio, weight, port = struct.unpack(">HHH", rdata[:6])
            print("SRV", port, dns_name(msg, pos + 6)[0])
        elif rtype == 5:
            print("CNAME", dns_name(msg, pos)[0])
        else:
            print("TYPE%d" % rtype)
        pos += rdlen


def fake_dns(ip):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((ip, 53))
    print("fake upstream on", ip, flush=True)
    while True:
        q, peer = u.recvfrom(65536)
        name, end = dns_name(q, 12)
        if name.startswith("slow."):
            continue
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton("192.0.2.1")
        flags = 0x8180
        u.sendto(q[:2] + struct.pack(">HHHHH", flags, 1, 1, 0, 0) + q[12:end + 4] + answer, peer)


def bench_connect(ip, port, n):
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        s = socket.create_connection((ip, port), timeout=5)
        if not s.recv(1):
            raise SystemExit("no first byte")
        samples.append((time.perf_counter() - t0) * 1e6)
        s.close()
    samples.sort()
    print("median_us=%.0f p90_us=%.0f" % (samples[len(samples) // 2], samples[int(len(samples) * 0.9)]))


def bench_throughput(ip, port, mbytes):
    s = socket.create_connection((ip, port), timeout=30)
    read_line(s)
    s.settimeout(None)  # a loaded machine may stall a transfer for long: a figure, not a test
    chunk = os.urandom(65536)
    total = mbytes * 1024 * 1024
    received = [0]

    def reader():
        while True:
            d = s.recv(262144)
            if not d:
                return
            received[0] += len(d)

    t = threading.Thread(target=reader)
    t0 = time.perf_counter()
    t.start()
    sent = 0
    while sent < total:
        s.sendall(chunk)
        sent += len(chunk)
    s.shutdown(socket.SHUT_WR)
    t.join()
    dt = time.perf_counter() - t0
    if received[0] != sent:
        print("error=echo_lost_bytes_%d_of_%d" % (received[0], sent))
        return
    print("mb_per_s=%.1f" % (sent / dt / 1e6))


def main():
    args = sys.argv[1:]
    src = opt(args, "--src")
    use_tcp = "--tcp" in args
    if use_tcp:
        args.remove("--tcp")
    cmd = args[0] if args else ""
    if cmd == "serve":
        serve(args[1], args[2], int(args[3]), int(args[4]))
    elif cmd == "tcp-names":
        tcp_names(args[1], int(args[2]), int(args[3]), src)
    elif cmd == "udp-names":
        udp_names(args[1], int(args[2]), int(args[3]), src)
    elif cmd == "echo":
        echo(args[1], int(args[2]), int(args[3]))
    elif cmd == "hold":
        hold(args[1], int(args[2]), args[3])
    elif cmd == "refused":
        refused(args[1], int(args[2]))
    elif cmd == "dns":
        dns(args[1], args[2], args[3], use_tcp)
    elif cmd == "fake-dns":
        fake_dns(args[1])
    elif cmd == "bench-connect":
        bench_connect(args[1], int(args[2]), int(args[3]))
    elif cmd == "bench-throughput":
        try:
            bench_throughput(args[1], int(args[2]), int(args[3]))
        except OSError as e:
            print("error=%s" % (e.strerror or e).replace(" ", "_"))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
