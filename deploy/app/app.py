"""The seed's Flask quick-start app, as the EC2 backends and the local dev backends run it.

GET /        -> <p>This is index page!</p>
GET /health  -> 200 "ok" (what ferry's active health check asks for)

Every response carries X-Backend: <instance name> (FERRY_INSTANCE, else the host name), so a
user curling through ferry sees the round robin alternate.
"""
import os
import socket

from flask import Flask

app = Flask(__name__)
INSTANCE = os.environ.get("FERRY_INSTANCE") or socket.gethostname()


@app.after_request
def name_the_instance(response):
    response.headers["X-Backend"] = INSTANCE
    return response


@app.route("/")
def index():
    return "<p>This is index page!</p>"


@app.route("/health")
def health():
    return "ok\n"
