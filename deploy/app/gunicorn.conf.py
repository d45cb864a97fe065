# gunicorn settings shared by the local dev backends and the EC2 backends.
# gthread keeps client connections alive (the default sync worker closes every one), so
# ferry's pooled backend connections are reused. keepalive stays above ferry's backend_idle
# (4s) so ferry, not gunicorn, closes an idle pooled connection.
worker_class = "gthread"
workers = int(__import__("os").environ.get("FERRY_APP_WORKERS", "1"))
threads = 8
keepalive = 10
accesslog = None
