#!/usr/bin/env python3
"""Makes the TCP exchange captured in captures/handshake.pcap (see captures/README.md)."""
import socket, threading, time
PORT = 40123
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", PORT)); srv.listen(1)
def serve():
    c, _ = srv.accept()
    data = c.recv(1024)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
    time.sleep(0.05)
    c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(("127.0.0.1", PORT))
cl.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
buf = b""
while True:
    d = cl.recv(1024)
    if not d: break
    buf += d
cl.close(); t.join(); srv.close()
print(buf)
