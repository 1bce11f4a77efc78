"""fetch_url against a real local HTTP(S) server; the only network used is 127.0.0.1."""

from __future__ import annotations

import functools
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from fashionclip.server.fetch import UrlFetchError, UrlPolicy, UrlRefused, address_is_public, fetch_url

LOCALHOST = ipaddress.ip_address("127.0.0.1")
BODY = bytes(range(256)) * 40  # every byte value, 10 KiB
LIMIT = 1000  # max_bytes of the local policy


def resolver_of(table: dict[str, list[str]], calls: list | None = None):
    """A resolver answering from ``table``; unknown names fail like a DNS miss."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def local_policy(**overrides) -> UrlPolicy:
    """Only 127.0.0.1 may be reached; shop.test and other.test are made-up names for it."""
    options = dict(
        max_bytes=LIMIT,
        timeout=2.0,
        address_allowed=lambda ip: ip == LOCALHOST,
        resolver=resolver_of({"shop.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}),
    )
    return UrlPolicy(**{**options, **overrides})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # needed for chunked replies

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict | None = None, length: bool = True) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.reply(status, headers={"Location": location})

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers["Host"]))
        port = self.server.server_address[1]
        path = urlsplit(self.path).path
        if path == "/ok":
            self.reply(200, BODY[:LIMIT] if self.server.small else BODY, {"Content-Type": "image/png"})
        elif path == "/exact":
            self.reply(200, BODY[:LIMIT])
        elif path == "/missing":
            self.reply(404, b"not here")
        elif path == "/broken":
            self.reply(500, b"oops")
        elif path == "/huge-length":
            # claims a gigabyte, sends a few bytes: the claim alone must end the fetch
            self.reply(200, b"12345", {"Content-Length": str(10**9)}, length=False)
            self.close_connection = True
        elif path == "/huge-chunked":
            self.reply(200, headers={"Transfer-Encoding": "chunked"}, length=False)
            for _ in range(5):
                self.wfile.write(b"%x\r\n%s\r\n" % (400, b"x" * 400))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/huge-close":
            self.reply(200, b"x" * (LIMIT * 3), {"Connection": "close"}, length=False)
            self.close_connection = True
        elif path == "/trickle":
            self.reply(200, headers={"Content-Length": str(LIMIT)}, length=False)
            try:
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            self.close_connection = True
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            if left:
                self.redirect(f"/hop/{left - 1}", status=(301, 302, 303, 307, 308)[left % 5])
            else:
                self.reply(200, b"arrived")
        elif path == "/to-ok-absolute":
            self.redirect(f"http://shop.test:{port}/ok", status=301)
        elif path == "/loop":
            self.redirect("/loop")
        elif path == "/to-internal":
            self.redirect("http://10.0.0.1/x")
        elif path == "/to-metadata-name":
            self.redirect("http://metadata.test/latest/")
        elif path == "/to-ftp":
            self.redirect("ftp://shop.test/x")
        elif path == "/no-location":
            self.reply(302)
        else:
            self.reply(404)


def start(server: ThreadingHTTPServer):
    server.requests = []
    server.small = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def stop(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = start(srv)
    srv.url = f"http://shop.test:{srv.server_address[1]}"
    yield srv
    stop(srv, thread)


# address_is_public


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "224.0.0.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    ],
)
def test_internal_and_special_addresses_are_not_public(address):
    assert address_is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]
)
def test_global_unicast_addresses_are_public(address):
    assert address_is_public(ipaddress.ip_address(address)) is True


# refusals before any connection


def no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"resolver called for {host}")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://shop.test/a.jpg", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://shop.test/", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("shop.test/a.jpg", "scheme '(none)'"),
        ("//shop.test/a.jpg", "scheme '(none)'"),
        ("", "scheme '(none)'"),
        ("http:///a.jpg", "no host"),
        ("http://:8080/a.jpg", "no host"),
        ("http://user:secret@shop.test/a.jpg", "credentials"),
        ("http://user@shop.test/a.jpg", "credentials"),
        ("http://@shop.test/a.jpg", "credentials"),
        ("http://shop.test/" + "a" * 2048, "longer than 2048"),
        ("http://shop.test/a b.jpg", "whitespace or control"),
        ("http://shop.test/a.jpg\r\nX-Injected: 1", "whitespace or control"),
        ("http://[::1/a.jpg", "malformed"),
        ("http://shop.test:99999/a.jpg", "malformed"),
        ("http://shop.test:port/a.jpg", "malformed"),
    ],
)
def test_malformed_or_disallowed_urls_are_refused(url, why):
    with pytest.raises(UrlRefused, match="refused: .*" + why.replace("(", r"\(").replace(")", r"\)")):
        fetch_url(url, UrlPolicy(resolver=no_resolver, address_allowed=lambda ip: True))


def test_a_url_at_the_length_cap_is_not_refused_for_length(server):
    url = f"{server.url}/ok?pad="
    url += "a" * (2048 - len(url))
    assert len(url) == 2048
    server.small = True
    assert fetch_url(url, local_policy()) == BODY[:LIMIT]


def test_a_name_resolving_to_the_metadata_address_is_refused():
    policy = UrlPolicy(resolver=resolver_of({"metadata.test": ["169.254.169.254"]}))
    with pytest.raises(UrlRefused, match="non-public address 169.254.169.254"):
        fetch_url("http://metadata.test/latest/meta-data/", policy)


@pytest.mark.parametrize("addresses", [["8.8.8.8", "10.0.0.5"], ["10.0.0.5", "8.8.8.8"]])
def test_one_private_address_among_public_ones_is_enough_to_refuse(addresses):
    policy = UrlPolicy(resolver=resolver_of({"mixed.test": addresses}))
    with pytest.raises(UrlRefused, match="non-public address 10.0.0.5"):
        fetch_url("https://mixed.test/a.jpg", policy)


def test_an_unparseable_resolver_answer_is_refused():
    policy = UrlPolicy(resolver=resolver_of({"odd.test": ["not-an-address"]}))
    with pytest.raises(UrlRefused, match="not-an-address"):
        fetch_url("http://odd.test/", policy)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8080/admin",
        "https://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
    ],
)
def test_literal_internal_addresses_are_refused_without_resolving(url):
    with pytest.raises(UrlRefused, match="non-public address"):
        fetch_url(url, UrlPolicy(resolver=no_resolver))


@pytest.mark.parametrize("url", ["http://localhost/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/"])
def test_names_and_odd_ipv4_spellings_of_loopback_are_refused_by_the_default_policy(url):
    # the system resolver turns these into 127.0.0.1 (or ::1) without any network
    with pytest.raises(UrlRefused, match="non-public address"):
        fetch_url(url)


def test_a_name_that_does_not_resolve_is_a_fetch_error():
    with pytest.raises(UrlFetchError, match="cannot resolve host 'nowhere.test'"):
        fetch_url("http://nowhere.test/", local_policy())
    with pytest.raises(UrlFetchError, match="resolves to no address"):
        fetch_url("http://empty.test/", local_policy(resolver=resolver_of({"empty.test": []})))


# real fetches from a local server


def test_a_body_comes_back_byte_exact_from_the_resolved_address_with_the_host_name(server):
    calls = []
    resolver = resolver_of({"shop.test": ["127.0.0.1"]}, calls)
    server.small = False
    body = fetch_url(f"{server.url}/ok", local_policy(max_bytes=len(BODY), resolver=resolver))
    assert body == BODY
    port = server.server_address[1]
    # "shop.test" exists only in the injected resolver: the socket went to 127.0.0.1, the name to Host
    assert calls == [("shop.test", port)]
    assert server.requests == [("/ok", f"shop.test:{port}")]


def test_a_body_of_exactly_max_bytes_is_accepted(server):
    assert fetch_url(f"{server.url}/exact", local_policy()) == BODY[:LIMIT]


@pytest.mark.parametrize(("path", "status"), [("/missing", "HTTP 404"), ("/broken", "HTTP 500")])
def test_error_statuses_are_fetch_errors(server, path, status):
    with pytest.raises(UrlFetchError, match=status):
        fetch_url(f"{server.url}{path}", local_policy())


def test_a_content_length_over_the_limit_fails_before_reading(server):
    with pytest.raises(UrlFetchError, match=f"Content-Length {10**9} > {LIMIT}"):
        fetch_url(f"{server.url}/huge-length", local_policy())


def test_a_larger_body_with_a_content_length_fails(server):
    with pytest.raises(UrlFetchError, match=f"Content-Length {len(BODY)} > {LIMIT}"):
        fetch_url(f"{server.url}/ok", local_policy())


@pytest.mark.parametrize("path", ["/huge-chunked", "/huge-close"])
def test_a_body_without_content_length_stops_once_over_the_limit(server, path):
    with pytest.raises(UrlFetchError, match=f"more than {LIMIT} bytes"):
        fetch_url(f"{server.url}{path}", local_policy())


def test_a_chunked_body_within_the_limit_is_read_whole(server):
    assert fetch_url(f"{server.url}/huge-chunked", local_policy(max_bytes=2000)) == b"x" * 2000


def test_redirects_are_followed_and_rechecked(server):
    server.small = True
    assert fetch_url(f"{server.url}/to-ok-absolute", local_policy()) == BODY[:LIMIT]
    assert fetch_url(f"{server.url}/hop/3", local_policy()) == b"arrived"
    assert [path for path, _ in server.requests] == ["/to-ok-absolute", "/ok", "/hop/3", "/hop/2", "/hop/1", "/hop/0"]


def test_one_redirect_too_many_fails(server):
    with pytest.raises(UrlFetchError, match=r"too many redirects \(more than 3\)"):
        fetch_url(f"{server.url}/hop/4", local_policy())
    assert fetch_url(f"{server.url}/hop/1", local_policy(max_redirects=1)) == b"arrived"
    with pytest.raises(UrlFetchError, match="too many redirects"):
        fetch_url(f"{server.url}/hop/1", local_policy(max_redirects=0))


def test_a_redirect_loop_fails_after_max_redirects(server):
    with pytest.raises(UrlFetchError, match="too many redirects"):
        fetch_url(f"{server.url}/loop", local_policy())
    assert [path for path, _ in server.requests] == ["/loop"] * 4


@pytest.mark.parametrize(
    ("path", "why"),
    [("/to-internal", "non-public address 10.0.0.1"), ("/to-ftp", "scheme 'ftp'")],
)
def test_a_redirect_to_a_forbidden_target_is_refused(server, path, why):
    with pytest.raises(UrlRefused, match=why):
        fetch_url(f"{server.url}{path}", local_policy())


def test_a_redirect_to_a_name_resolving_internally_is_refused(server):
    table = {"shop.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"]}
    with pytest.raises(UrlRefused, match="169.254.169.254"):
        fetch_url(f"{server.url}/to-metadata-name", local_policy(resolver=resolver_of(table)))


def test_a_redirect_without_location_fails(server):
    with pytest.raises(UrlFetchError, match="redirect without a Location"):
        fetch_url(f"{server.url}/no-location", local_policy())


def test_a_server_that_never_answers_times_out():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts
        port = silent.getsockname()[1]
        began = time.monotonic()
        with pytest.raises(UrlFetchError, match="timed out after 0.5 s"):
            fetch_url(f"http://shop.test:{port}/a.jpg", local_policy(timeout=0.5))
        assert time.monotonic() - began < 2.0


def test_a_trickling_body_is_cut_off_at_the_deadline(server):
    began = time.monotonic()
    with pytest.raises(UrlFetchError, match="timed out"):
        fetch_url(f"{server.url}/trickle", local_policy(timeout=0.5))
    assert time.monotonic() - began < 2.0


def test_a_refused_connection_is_a_fetch_error():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(UrlFetchError, match="ConnectionRefusedError"):
        fetch_url(f"http://shop.test:{port}/a.jpg", local_policy())


def test_https_to_a_plain_http_server_is_a_fetch_error(server):
    with pytest.raises(UrlFetchError, match="TLS error"):
        fetch_url(f"https://shop.test:{server.server_address[1]}/ok", local_policy())


# HTTPS: the connection goes to the resolved address, the certificate is checked against the name


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=shop.test"]
    command += ["-addext", "subjectAltName=DNS:shop.test", "-keyout", str(key), "-out", str(cert)]
    if subprocess.run(command, capture_output=True).returncode != 0:
        pytest.skip("openssl could not make a test certificate")
    return cert, key


@pytest.fixture
def tls_server(certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    thread = start(srv)
    srv.small = True
    yield srv
    stop(srv, thread)


@pytest.fixture
def trust_test_certificate(certificate, monkeypatch):
    trusting = functools.partial(ssl.create_default_context, cafile=str(certificate[0]))
    monkeypatch.setattr(ssl, "create_default_context", trusting)


def test_https_checks_the_certificate_against_the_host_name(tls_server, trust_test_certificate):
    port = tls_server.server_address[1]
    assert fetch_url(f"https://shop.test:{port}/ok", local_policy()) == BODY[:LIMIT]
    assert tls_server.requests == [("/ok", f"shop.test:{port}")]
    with pytest.raises(UrlFetchError, match="TLS error.*other.test"):
        fetch_url(f"https://other.test:{port}/ok", local_policy())


def test_https_refuses_an_untrusted_certificate(tls_server):
    with pytest.raises(UrlFetchError, match="TLS error.*certificate verify failed"):
        fetch_url(f"https://shop.test:{tls_server.server_address[1]}/ok", local_policy())


def test_the_url_errors_live_in_errors_and_keep_their_old_import_place() -> None:
    import fashionclip.errors
    import fashionclip.server.fetch

    assert fashionclip.server.fetch.UrlRefused is fashionclip.errors.UrlRefused
    assert fashionclip.server.fetch.UrlFetchError is fashionclip.errors.UrlFetchError
    assert issubclass(UrlRefused, fashionclip.errors.FashionClipError) and issubclass(UrlFetchError, ValueError)
