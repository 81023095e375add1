"""The floor of a request under gunicorn: a WSGI app that reads the body and answers a fixed
JSON, nothing else (bench/bench_request_cost.py's baseline)."""


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    body = b'{"status":"ok"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
