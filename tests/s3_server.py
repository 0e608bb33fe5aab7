"""A real S3 API server on 127.0.0.1 for the remote-path tests and the bench: moto's
``ThreadedMotoServer`` (what s3fs's own tests use), started in this process.

``start()`` returns a :class:`Server` whose ``env`` holds the variables a user would
set for a private S3-compatible store (endpoint, access key, secret, region): readers
get every credential from the environment, never from arguments. With ``auth=True``
requests are checked against IAM: the user of ``env`` may list and read the bucket
but is denied ``GetObject`` below ``secret/`` (a real 403 from the server).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field

BUCKET = "logs"
DENIED_PREFIX = "secret/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    endpoint: str
    env: dict[str, str] = field(default_factory=dict)
    _server: object = None

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def stop(self) -> None:
        self._server.stop()


def start(*, auth: bool = True) -> Server:
    import logging

    import boto3
    from moto import settings
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    admin = dict(
        endpoint_url=endpoint,
        aws_access_key_id="admin",
        aws_secret_access_key="admin",
        region_name="us-east-1",
    )
    boto3.client("s3", **admin).create_bucket(Bucket=BUCKET)
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "admin",
        "AWS_SECRET_ACCESS_KEY": "admin",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if auth:
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="reader")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/{DENIED_PREFIX}*",
                },
            ],
        }
        iam.put_user_policy(
            UserName="reader", PolicyName="read-logs", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        env["AWS_ACCESS_KEY_ID"] = key["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = key["SecretAccessKey"]
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from now on, every request is checked
    return Server(endpoint, env, server)


def upload_tree(local_dir: str, prefix: str) -> int:
    """Put every file below ``local_dir`` at ``s3://BUCKET/prefix/...``.

    Written straight into the server's store (this process runs it): setting up 1,000
    objects through HTTP would take longer than the tests that read them. Reading,
    the thing under test, always goes through the server's S3 API.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    n = 0
    for root, _dirs, files in os.walk(local_dir):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, local_dir).replace(os.sep, "/")
            with open(path, "rb") as fh:
                backend.put_object(BUCKET, f"{prefix.strip('/')}/{rel}".lstrip("/"), fh.read())
            n += 1
    return n
