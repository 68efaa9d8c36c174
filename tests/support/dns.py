"""A real DNS server on a loopback UDP port, for domain verification tests.

It speaks DNS on a real socket (dnspython's wire format), so the code under test sends real
queries through a real resolver. It answers TXT questions from `txt`, says NOERROR with no
answer for names in `names_without_txt`, NXDOMAIN for everything else, and drops every query
while `silent` is set, so the resolver times out.
"""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset


class DnsServer:
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.names_without_txt: set[str] = set()
        self.silent = False
        self.queries: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish(self, name: str, *values: str) -> None:
        self.txt[name.lower().rstrip(".")] = list(values)

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply is not None:
                self._socket.sendto(reply, client)

    def _answer(self, data: bytes) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        self.queries.append(name)
        if self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.txt:
            if question.rdtype == dns.rdatatype.TXT:
                rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, dns.rdatatype.TXT)
                for value in self.txt[name]:
                    rrset.add(
                        dns.rdtypes.ANY.TXT.TXT(
                            dns.rdataclass.IN, dns.rdatatype.TXT, [value.encode()]
                        ),
                        ttl=60,
                    )
                response.answer.append(rrset)
        elif name not in self.names_without_txt:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
